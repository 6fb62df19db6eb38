import type { Database } from '@fleet/db';
import type { Producer } from '@fleet/queues';
import type { ControlWorker } from '@fleet/runtime';
import type { Job } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type FanOutResult, fanOut } from './fan-out.ts';
import { TICK_QUEUE, type TickData } from './reconcile-schedules.ts';
import type { Schedule } from './schedules.ts';

/**
 * The slot of a tick: the time its scheduler meant it to fire. BullMQ names iteration jobs
 * `repeat:<schedulerId>:<millis>`; the millis are the slot, identical on every retry.
 */
export function tickSlot(job: Pick<Job, 'id' | 'timestamp' | 'opts'>): number {
  const tail = job.id?.split(':').pop();
  const millis = Number(tail);
  if (tail && Number.isSafeInteger(millis) && millis > 0) return millis;
  return job.timestamp + (job.opts.delay ?? 0);
}

export interface TickOptions {
  db: Kysely<Database>;
  producer: Producer;
  log: Logger;
  /** The schedules this process runs; a tick for any other is skipped. */
  schedules: Schedule[];
  /** Jobs added to Redis at once during the fan-out. */
  enqueueConcurrency?: number;
  signal?: AbortSignal;
}

export type TickResult = FanOutResult | { skipped: string };

/**
 * Runs one tick: fans its schedule out to the target queue for the tick's slot. Throws (so
 * BullMQ retries the tick) when some jobs could not be added for a reason that may pass.
 */
export async function runTick(job: Pick<Job<TickData>, 'id' | 'timestamp' | 'opts' | 'data'>, o: TickOptions) {
  const schedule = o.schedules.find((s) => s.name === job.data.schedule);
  if (!schedule?.enabled) {
    // Another replica with a different configuration created this scheduler; this one's
    // reconcile will remove it, or the other's will keep it and fan it out there.
    o.log.warn({ schedule: job.data.schedule }, 'tick for a schedule this process does not run; skipped');
    return { skipped: `schedule ${job.data.schedule} is not enabled in this process` } satisfies TickResult;
  }
  const slot = tickSlot(job);
  const result = await fanOut(o.db, o.producer, schedule, slot, {
    log: o.log,
    concurrency: o.enqueueConcurrency,
    signal: o.signal,
  });
  o.log.info(result, 'schedule fanned out');
  const retryable = result.failed.filter((f) => f.retryable);
  if (retryable.length > 0) {
    // Retrying the tick is safe: job ids are per slot, so only the missing jobs are added.
    throw new Error(
      `${schedule.name}: ${retryable.length} of ${result.targets} jobs could not be added (first: ${retryable[0]!.error})`,
    );
  }
  return result satisfies TickResult;
}

/** What the tick worker needs from the scheduler's deps. */
export interface TickDeps {
  producer: Producer;
  schedules: Schedule[];
  env: { SCHEDULER_TICK_CONCURRENCY: number; SCHEDULER_ENQUEUE_CONCURRENCY: number };
}

/**
 * The tick queue's worker, hosted by the runtime as a control worker (the agent's
 * `controlWorkers`): ticks are control events, so they are not audited; the jobs they add are
 * (pending rows).
 */
export const tickWorker: ControlWorker<TickDeps, TickData> = {
  queue: TICK_QUEUE,
  concurrency: (deps) => deps.env.SCHEDULER_TICK_CONCURRENCY,
  process: (job, { db, log, signal, deps }) =>
    runTick(job, {
      db,
      producer: deps.producer,
      log: log.child({ schedule: job.data.schedule }),
      schedules: deps.schedules,
      enqueueConcurrency: deps.env.SCHEDULER_ENQUEUE_CONCURRENCY,
      signal,
    }),
};
