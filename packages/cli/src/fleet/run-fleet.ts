import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CliContext } from '../context.ts';
import { redactUrl } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatLabel, prefixLines } from './line-prefixer.ts';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from './ports.ts';
import { type FleetComponent, fleetRegistry, REPO_ROOT } from './registry.ts';
import { selectComponents } from './selection.ts';

export const ENTRYPOINT = 'docker/entrypoint.sh';

export interface RunFleetOptions {
  /** `name` or `name=replicas`; empty = every component once. */
  components: string[];
  /** Apply migrations first (through the same entry point as the compose `migrate` service). */
  migrate: boolean;
  /** Probe port of the first agent process; the next ones count up. 0 = free ports. */
  basePort: number;
  /** Port of the control plane's HTTP API and dashboard. 0 = a free port. */
  controlPlanePort: number;
  /** How long a process gets between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  /** First restart delay of a crashed process (doubles up to 30 s). */
  restartBaseMs?: number;
  root?: string;
  /** Resolves when the fleet should stop (tests); signals stop it too. */
  stopSignal?: AbortSignal;
}

interface Planned {
  component: FleetComponent;
  label: string;
  port: number;
}

/** Environment of one process: the runner's, plus the fleet's connection settings and its port. */
export function processEnv(
  ctx: CliContext,
  planned: { label: string; port: number; component?: FleetComponent },
): NodeJS.ProcessEnv {
  const env = ctx.env();
  const raw = ctx.rawEnv;
  const portVariable = planned.component?.portVariable ?? 'HTTP_PORT';
  const hostVariable = planned.component?.hostVariable ?? 'HTTP_HOST';
  return {
    ...raw,
    DATABASE_URL: env.DATABASE_URL,
    REDIS_URL: env.REDIS_URL,
    QUEUE_PREFIX: env.QUEUE_PREFIX,
    [portVariable]: String(planned.port),
    // Process mode is for one machine: servers listen on loopback unless asked otherwise.
    [hostVariable]: raw[hostVariable] ?? '127.0.0.1',
    LOG_PRETTY: raw.LOG_PRETTY ?? String(ctx.io.isTTY),
    // The entry point runs `$NODE`; the runner's own node, whatever PATH says.
    NODE: process.execPath,
    FLEET_PROCESS: planned.label,
  };
}

/** Starts the entry point's `migrate` command; `done` resolves to its exit code. */
function startMigrateStep(
  ctx: CliContext,
  root: string,
  prefix: string,
): { child: ChildProcess; done: Promise<number> } {
  const child = spawn('sh', [join(root, ENTRYPOINT), 'migrate', '--create-db'], {
    cwd: root,
    env: processEnv(ctx, { label: 'migrate', port: 0 }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = Promise.all([
    prefixLines(child.stdout!, prefix, ctx.io.stdout),
    prefixLines(child.stderr!, prefix, ctx.io.stderr),
  ]);
  const done = new Promise<number>((resolve) => {
    child.once('error', () => resolve(ExitCode.failure));
    child.once('close', (code) => void output.then(() => resolve(code ?? ExitCode.failure)));
  });
  return { child, done };
}

/**
 * Process mode: migrations, then every selected component as child processes started through
 * docker/entrypoint.sh (the image's entry point), with prefixed output, restarts with backoff,
 * and a graceful stop on SIGINT/SIGTERM. Resolves to the exit code once everything stopped.
 */
export async function runFleet(ctx: CliContext, options: RunFleetOptions): Promise<number> {
  const root = options.root ?? REPO_ROOT;
  const env = ctx.env();
  const { selected, missing } = selectComponents(options.components, fleetRegistry(), root);

  const planned: Planned[] = [];
  let nextPort = options.basePort;
  for (const { component, replicas } of selected) {
    for (let i = 1; i <= replicas; i++) {
      const label = replicas > 1 ? `${component.name}#${i}` : component.name;
      let port: number;
      if (component.kind === 'control-plane') port = options.controlPlanePort || (await freePort());
      else port = options.basePort === 0 ? await freePort() : nextPort++;
      planned.push({ component, label, port });
    }
  }
  const width = Math.max('fleet'.length, 'migrate'.length, ...planned.map((p) => p.label.length));
  const colour = ctx.io.isTTY;
  const own = formatLabel('fleet', planned.length + 1, width, colour);
  const notice = (text: string) => ctx.io.stderr(`${own} ${text}\n`);

  for (const m of missing) notice(`skipping ${m.name}: ${m.entry} does not exist in this checkout yet`);
  if (planned.length === 0) {
    notice('nothing to run');
    return ExitCode.notFound;
  }
  notice(`Postgres ${redactUrl(env.DATABASE_URL)}, Redis ${redactUrl(env.REDIS_URL)}, prefix ${env.QUEUE_PREFIX}`);

  // Signals are handled from here on: during the migrate step a stop request ends that step
  // (and the run); afterwards it stops every process gracefully.
  let stopping = false;
  let migrateChild: ChildProcess | null = null;
  let processes: ManagedProcess[] = [];
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    if (migrateChild) {
      notice(`${why}: stopping the migrate step`);
      migrateChild.kill('SIGTERM');
      return;
    }
    notice(`${why}: stopping ${processes.length} processes (SIGTERM, SIGKILL after ${options.stopGraceMs} ms)`);
    await Promise.all(processes.map((p) => p.stop(options.stopGraceMs)));
    const unclean = processes.filter((p) => p.lastExitCode !== 0 && p.state !== 'gave-up');
    notice(unclean.length === 0 ? 'all stopped' : `stopped; not clean: ${unclean.map((p) => p.label).join(', ')}`);
    finish(unclean.length === 0 && processes.every((p) => p.state !== 'gave-up') ? ExitCode.ok : ExitCode.failure);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      notice(`${signal} again: killing every process now`);
      migrateChild?.kill('SIGKILL');
      for (const p of processes) p.kill();
      return;
    }
    void stopAll(signal);
  };
  const killOnExit = () => {
    migrateChild?.kill('SIGKILL');
    for (const p of processes) p.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Children run in their own process groups; never leave them behind if the runner dies.
  process.on('exit', killOnExit);
  options.stopSignal?.addEventListener('abort', () => void stopAll('stop requested'), { once: true });
  let watchdog: NodeJS.Timeout | undefined;

  try {
    if (options.migrate) {
      const step = startMigrateStep(ctx, root, formatLabel('migrate', planned.length, width, colour));
      migrateChild = step.child;
      const code = await step.done;
      migrateChild = null;
      if (stopping) return code === 0 ? ExitCode.ok : code;
      if (code !== 0) {
        notice(`migrations failed (exit ${code}); not starting the fleet`);
        return code;
      }
    }

    let announced = false;
    processes = planned.map(
      (p, index) =>
        new ManagedProcess({
          label: p.label,
          command: 'sh',
          args:
            p.component.kind === 'control-plane'
              ? [join(root, ENTRYPOINT), 'control-plane']
              : [join(root, ENTRYPOINT), 'agent', p.component.name],
          cwd: root,
          env: processEnv(ctx, p),
          healthPort: p.port,
          prefix: formatLabel(p.label, index, width, colour),
          stdout: ctx.io.stdout,
          stderr: ctx.io.stderr,
          notice: (text) => {
            notice(`${p.label}: ${text}`);
            announceWhenSettled();
          },
          onHealthy: () => {
            announceWhenSettled();
          },
          ...(options.restartBaseMs ? { restartBaseMs: options.restartBaseMs } : {}),
        }),
    );

    // Once every process is healthy or has given up, say so: the line scripts and tests wait for.
    function announceWhenSettled(): void {
      if (announced || !processes.every((mp) => mp.state === 'healthy' || mp.state === 'gave-up')) return;
      announced = true;
      const up = processes.filter((mp) => mp.state === 'healthy');
      const down = processes.filter((mp) => mp.state === 'gave-up').map((mp) => mp.label);
      const urls = up.map((mp) => `${mp.label}=http://127.0.0.1:${planned.find((q) => q.label === mp.label)!.port}`);
      notice(
        `fleet ready: ${up.length} of ${processes.length} processes healthy (${urls.join(' ')})` +
          (down.length > 0 ? `; not running: ${down.join(', ')}` : '') +
          '; Ctrl-C stops them',
      );
    }

    for (const p of processes) p.start();
    watchdog = setInterval(() => {
      if (!stopping && processes.every((p) => p.state === 'gave-up')) void stopAll('every process gave up');
    }, 500);
    return await done;
  } finally {
    clearInterval(watchdog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killOnExit);
  }
}
