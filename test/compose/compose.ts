/**
 * The compose command line: `docker compose` (v2) when the Docker CLI has it, else
 * `docker-compose` (v1, e.g. Debian's 1.29), or whatever COMPOSE names. Every call runs the
 * project's file plus the stubs file, under one project name and a throwaway env file.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface ComposeProject {
  name: string;
  /** The command and its leading arguments, e.g. ['docker', 'compose']. */
  command: string[];
  run(args: string[], options?: RunOptions): Promise<RunResult>;
}

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
  /** Resolve instead of rejecting on a non-zero exit. */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Which compose command to use. */
export function composeCommand(): string[] {
  const forced = process.env.COMPOSE?.trim();
  if (forced) return forced.split(/\s+/);
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  throw new Error('no compose command: install the Docker compose plugin or docker-compose, or set COMPOSE');
}

export function composeProject(opts: {
  name: string;
  root: string;
  files: string[];
  envFile: string;
  dockerHost: string;
}): ComposeProject {
  const command = composeCommand();
  const base = ['-p', opts.name, '--env-file', opts.envFile, ...opts.files.flatMap((f) => ['-f', f])];
  return {
    name: opts.name,
    command,
    run(args, options = {}) {
      return new Promise<RunResult>((resolve, reject) => {
        const child = spawn(command[0]!, [...command.slice(1), ...base, ...args], {
          cwd: opts.root,
          // docker-compose 1.29 builds with one long API request.
          env: { ...process.env, DOCKER_HOST: opts.dockerHost, COMPOSE_HTTP_TIMEOUT: '900' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c;
        });
        child.stderr.on('data', (c: Buffer) => {
          stderr += c;
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          const result = { code: code ?? -1, stdout, stderr };
          if (code === 0 || options.allowFailure) resolve(result);
          else {
            const tail = `${stderr}${stdout}`.trim().split('\n').slice(-25).join('\n');
            reject(new Error(`${command.join(' ')} ${args.join(' ')} exited ${code}:\n${tail}`));
          }
        });
        child.stdin.end(options.input ?? '');
      });
    },
  };
}
