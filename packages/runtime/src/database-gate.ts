/**
 * The database gate: a replica that cannot reach the audit database stops taking jobs.
 *
 * Without it, a replica whose Postgres path is dead keeps taking jobs from the queue, can record
 * none of them, and defers each one again: it churns through the backlog that replicas with a
 * working path could run. The gate probes the database on its own connection (so a busy audit
 * pool is not mistaken for a dead one); after consecutive failures it pauses the worker (jobs
 * running go on; no new ones are fetched) and reports the problem to /readyz; the first probe
 * that succeeds resumes the worker.
 */
import type { Logger } from 'pino';
import { withTimeout } from './with-timeout.ts';

export interface DatabaseGateTiming {
  /** Time between probes while the database answers. */
  intervalMs: number;
  /** Time between probes while it does not (the gate reopens this soon after it is back). */
  retryMs: number;
  /** A probe that takes longer than this fails. */
  timeoutMs: number;
  /** Consecutive failed probes that close the gate (one failure may be a single cut connection). */
  failuresToClose: number;
}

export const DEFAULT_GATE_TIMING: DatabaseGateTiming = {
  intervalMs: 5_000,
  retryMs: 1_000,
  // As long as a new connection may take (createDb's connect timeout): a loaded server that
  // answers slowly is not a dead one.
  timeoutMs: 5_000,
  failuresToClose: 2,
};

export interface DatabaseGateOptions extends Partial<DatabaseGateTiming> {
  /** A query that succeeds while the audit database is reachable. */
  probe: () => Promise<unknown>;
  /** Stops fetching new jobs (running ones go on). */
  pause: () => Promise<void>;
  /** Fetches jobs again. */
  resume: () => Promise<void>;
  log: Logger;
  /** Makes error messages safe to log and to show on /readyz. */
  scrub?: (text: string) => string;
}

export interface DatabaseGate {
  /** Undefined while jobs are taken; why they are not while the gate is closed. */
  problem(): string | undefined;
  /** Probes made so far (tests wait on it instead of sleeping). */
  probes(): number;
  /** Stops probing; never resumes the worker after this. */
  stop(): Promise<void>;
}

/** Starts probing; the first probe runs after `intervalMs`. */
export function startDatabaseGate(options: DatabaseGateOptions): DatabaseGate {
  const timing = { ...DEFAULT_GATE_TIMING, ...withoutUndefined(options) };
  const scrub = options.scrub ?? ((text: string) => text);
  let failures = 0;
  let closedBecause: string | undefined;
  let probes = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function probeOnce(): Promise<void> {
    probes += 1;
    try {
      await withTimeout(options.probe(), timing.timeoutMs, 'the audit database');
      failures = 0;
      if (closedBecause !== undefined && !stopped) {
        closedBecause = undefined;
        await options.resume();
        options.log.info('audit database reachable again: taking jobs');
      }
    } catch (error) {
      failures += 1;
      const message = scrub(error instanceof Error ? error.message : String(error));
      if (closedBecause !== undefined) {
        closedBecause = `not taking jobs: the audit database is unreachable (${message})`;
      } else if (failures >= timing.failuresToClose && !stopped) {
        closedBecause = `not taking jobs: the audit database is unreachable (${message})`;
        await options.pause();
        options.log.warn({ failures, err: message }, 'audit database unreachable: stopped taking jobs');
      }
    }
  }

  function schedule(): void {
    if (stopped) return;
    const delay = closedBecause !== undefined || failures > 0 ? timing.retryMs : timing.intervalMs;
    timer = setTimeout(() => {
      running = probeOnce()
        .catch((err) => options.log.error({ err }, 'database gate probe failed unexpectedly'))
        .finally(schedule);
    }, delay);
    timer.unref();
  }

  schedule();
  return {
    problem: () => closedBecause,
    probes: () => probes,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

function withoutUndefined(o: Partial<DatabaseGateTiming>): Partial<DatabaseGateTiming> {
  const keys = ['intervalMs', 'retryMs', 'timeoutMs', 'failuresToClose'] as const;
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
