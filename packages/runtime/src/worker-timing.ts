import type { RuntimeEnv } from './env.ts';

/**
 * BullMQ worker timing; the defaults (below) find a dead worker's job within 30 s and
 * suit handlers of any length, since a live worker renews its locks while the handler runs.
 */
export interface WorkerTiming {
  /** How long a job's lock lasts without renewal. */
  lockDurationMs?: number;
  /** How often a running job's lock is renewed (BullMQ's lockRenewTime). */
  lockRenewMs?: number;
  /** How often stalled jobs (lost locks) are looked for. */
  stalledIntervalMs?: number;
  /** How many times a job may stall before it is failed. */
  maxStalledCount?: number;
}

/**
 * How fast a dead worker's job is found, and how long a live one may go without renewing.
 *
 * BullMQ 6 renews the lock of every job a worker runs from a timer that fires every half
 * `lockRenewTime` and extends each lock not extended in the last half `lockRenewTime`: a live
 * worker's lock is pushed to now + `lockDuration` every 2–4 s whatever the handler does, so a long
 * handler needs no long lock; only an event loop or Redis path stuck for about
 * `lockDuration - lockRenewTime` (8 s) loses it. A worker killed with SIGKILL stops renewing: its
 * lock expires at most `lockDuration` later, and the next stalled check (every `stalledInterval`,
 * shared by all workers of the queue) after that moves the job back to wait, where a live worker
 * takes it at once and the reconciler closes the lost attempt's row. Worst case about
 * lockDuration + stalledInterval = 20 s, under 30 s even when two workers' check timers line up
 * badly; measured in test/recovery-time.test.ts.
 */
export const DEFAULT_WORKER_TIMING = {
  lockDurationMs: 12_000,
  stalledIntervalMs: 8_000,
  maxStalledCount: 1,
} as const;

/**
 * What every worker the runtime hosts keeps of finished jobs, unless a job's own options say
 * otherwise: a day of completed ones, a week of failed ones, for operators to inspect.
 */
export const FINISHED_JOBS_KEPT = {
  removeOnComplete: { age: 24 * 3600, count: 5_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;

/** The timing a worker runs with: environment over the agent's own over the defaults. */
export function workerTiming(env: RuntimeEnv, agent: WorkerTiming = {}): Required<WorkerTiming> {
  const lockDurationMs = env.LOCK_DURATION_MS ?? agent.lockDurationMs ?? DEFAULT_WORKER_TIMING.lockDurationMs;
  return {
    lockDurationMs,
    // A third of the lock (4 s of the default 12 s), whatever the lock is set to.
    lockRenewMs: env.LOCK_RENEW_MS ?? agent.lockRenewMs ?? Math.max(1, Math.round(lockDurationMs / 3)),
    stalledIntervalMs: env.STALLED_INTERVAL_MS ?? agent.stalledIntervalMs ?? DEFAULT_WORKER_TIMING.stalledIntervalMs,
    maxStalledCount: env.MAX_STALLED_COUNT ?? agent.maxStalledCount ?? DEFAULT_WORKER_TIMING.maxStalledCount,
  };
}

/** The timing as BullMQ's Worker options name it, for every worker the runtime builds. */
export function bullmqTiming(t: Required<WorkerTiming>) {
  return {
    lockDuration: t.lockDurationMs,
    lockRenewTime: t.lockRenewMs,
    stalledInterval: t.stalledIntervalMs,
    maxStalledCount: t.maxStalledCount,
  };
}
