import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describeRedisTarget } from '@fleet/config';
import type { CliContext } from '../context.ts';
import { CliError, redactUrl } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatLabel, prefixLines } from './line-prefixer.ts';
import { ManagedProcess } from './managed-process.ts';
import { busyPorts, freePort, type PlannedPort } from './ports.ts';
import { createJobRecovery } from './recover-jobs.ts';
import { type FleetComponent, fleetRegistry, probePort, REPO_ROOT } from './registry.ts';
import { selectComponents } from './selection.ts';
import { createStopSignals } from './stop-signals.ts';

export const ENTRYPOINT = 'docker/entrypoint.sh';

export interface RunFleetOptions {
  /** `name` or `name=replicas`; empty = every component once. */
  components: string[];
  /** Apply migrations first (through the same entry point as the compose `migrate` service). */
  migrate: boolean;
  /** Probe ports are this plus each agent's fixed offset (registry.ts). 0 = free ports. */
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
    // A cluster's variables are in `raw` already; one server's URL may be the local default.
    ...(typeof env.REDIS === 'string' ? { REDIS_URL: env.REDIS } : {}),
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

/** Every process of the selection with its port: stable per agent, unless --base-port 0. */
async function plan(components: { component: FleetComponent; replicas: number }[], o: RunFleetOptions) {
  const planned: Planned[] = [];
  for (const { component, replicas } of components) {
    for (let i = 1; i <= replicas; i++) {
      const label = replicas > 1 ? `${component.name}#${i}` : component.name;
      let port: number;
      if (component.kind === 'control-plane') port = o.controlPlanePort || (await freePort());
      else port = o.basePort === 0 ? await freePort() : probePort(o.basePort, component, i);
      planned.push({ component, label, port });
    }
  }
  return planned;
}

/** Refuses to start (exit 78) when another process holds a port the fleet needs, naming it and its flag. */
async function checkPorts(ctx: CliContext, planned: Planned[], o: RunFleetOptions): Promise<void> {
  const ports: PlannedPort[] = planned.map((p) => ({
    port: p.port,
    host: ctx.rawEnv[p.component.hostVariable] ?? '127.0.0.1',
    what: p.component.kind === 'control-plane' ? 'the control plane' : `${p.label}'s probe`,
    flag: p.component.kind === 'control-plane' ? '--control-plane-port' : '--base-port',
  }));
  const busy = await busyPorts(ports);
  if (busy.length === 0) return;
  const lines = busy.map((b) => `  port ${b.port} on ${b.host} (${b.what}, set by ${b.flag}): ${describe(b.problem)}`);
  const flags = [...new Set(busy.map((b) => b.flag))];
  throw new CliError(
    `cannot start the fleet: ${busy.length === 1 ? 'a port it needs is' : 'ports it needs are'} not free\n${lines.join('\n')}`,
    ExitCode.config,
    `Stop what holds ${busy.length === 1 ? 'it' : 'them'} (another \`fleet up\`?), or move the fleet with ${flags
      .map((f) =>
        f === '--base-port'
          ? `--base-port (now ${o.basePort}; agents use it + 0…5)`
          : `${f} (now ${o.controlPlanePort})`,
      )
      .join(' or ')}.`,
  );
}

function describe(problem: string): string {
  if (problem === 'EADDRINUSE') return 'already in use by another process (EADDRINUSE)';
  if (problem === 'EACCES') return 'may not be opened by this user (EACCES)';
  if (problem === 'EADDRNOTAVAIL') return 'not an address of this machine (EADDRNOTAVAIL)';
  return problem;
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
    // Its own process group, like the fleet's processes: a terminal's Ctrl-C reaches only the runner.
    detached: true,
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
 * recovery of a dead child's jobs, and a graceful stop on Ctrl-C/SIGTERM (stop-signals.ts).
 * Resolves to the exit code once everything stopped.
 */
export async function runFleet(ctx: CliContext, options: RunFleetOptions): Promise<number> {
  const root = options.root ?? REPO_ROOT;
  const env = ctx.env();
  const { selected, missing } = selectComponents(options.components, fleetRegistry(), root);
  const planned = await plan(selected, options);
  const width = Math.max('fleet'.length, 'migrate'.length, ...planned.map((p) => p.label.length));
  const colour = ctx.io.isTTY;
  const own = formatLabel('fleet', planned.length + 1, width, colour);
  const notice = (text: string) => ctx.io.stderr(`${own} ${text}\n`);

  for (const m of missing) notice(`skipping ${m.name}: ${m.entry} does not exist in this checkout yet`);
  if (planned.length === 0) {
    notice('nothing to run');
    return ExitCode.notFound;
  }
  await checkPorts(ctx, planned, options);
  // Workers wait for Redis forever, which suits a container but would leave the fleet "ready"
  // and idle: say at once when it does not answer (exit 69, naming REDIS_URL).
  await ctx.ensureRedis();
  // With migrations the migrate step says it; without, the agents would start and fail each job.
  if (!options.migrate) await ctx.ensurePostgres();
  notice(
    `Postgres ${redactUrl(env.DATABASE_URL)}, Redis ${typeof env.REDIS === 'string' ? redactUrl(env.REDIS) : describeRedisTarget(env.REDIS).where}, prefix ${env.QUEUE_PREFIX}`,
  );

  let migrateChild: ChildProcess | null = null;
  let processes: ManagedProcess[] = [];
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const recovery = createJobRecovery(ctx);
  const stopAll = async (why: string) => {
    if (migrateChild) {
      notice(`${why}: stopping the migrate step`);
      migrateChild.kill('SIGTERM');
      return;
    }
    notice(
      `${why}: stopping ${processes.length} processes gracefully (SIGTERM, SIGKILL after ${options.stopGraceMs} ms); ` +
        'press Ctrl-C again after a second to kill them now',
    );
    await Promise.all(processes.map((p) => p.stop(options.stopGraceMs)));
    const unclean = processes.filter((p) => p.lastExitCode !== 0 && p.state !== 'gave-up');
    notice(unclean.length === 0 ? 'all stopped' : `stopped; not clean: ${unclean.map((p) => p.label).join(', ')}`);
    finish(unclean.length === 0 && processes.every((p) => p.state !== 'gave-up') ? ExitCode.ok : ExitCode.failure);
  };
  const killAll = () => {
    migrateChild?.kill('SIGKILL');
    for (const p of processes) p.kill();
  };
  const signals = createStopSignals({
    stop: (signal) => void stopAll(signal),
    kill: (signal) => {
      notice(`${signal} again: killing every process now`);
      killAll();
    },
    repeated: (signal, ms) => notice(`${signal} ${ms} ms after the first: the same stop request (still stopping)`),
  });
  // Children run in their own process groups; never leave them behind if the runner dies.
  process.on('exit', killAll);
  options.stopSignal?.addEventListener('abort', () => signals.request('stop requested'), { once: true });
  let watchdog: NodeJS.Timeout | undefined;

  try {
    if (options.migrate) {
      const step = startMigrateStep(ctx, root, formatLabel('migrate', planned.length, width, colour));
      migrateChild = step.child;
      const code = await step.done;
      migrateChild = null;
      if (signals.stopping) return code === 0 ? ExitCode.ok : code;
      if (code !== 0) {
        throw new CliError(
          `migrations failed (exit ${code}, see the migrate lines above); not starting the fleet`,
          code as never,
        );
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
          onExit: async (run) => {
            const line = await recovery.recover(p.component, run).catch((error: Error) => {
              return `could not recover the jobs it was running (${error.message}); BullMQ's stalled check will, within 30 s`;
            });
            if (line) notice(`${p.label}: ${line}`);
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
      if (!signals.stopping && processes.every((p) => p.state === 'gave-up')) signals.request('every process gave up');
    }, 500);
    return await done;
  } finally {
    clearInterval(watchdog);
    signals.dispose();
    process.off('exit', killAll);
    await recovery.close();
  }
}
