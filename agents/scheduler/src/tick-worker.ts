import type { Database } from '@fleet/db';
import { createRedis, type Producer, queueKeyPrefix, type RedisTarget } from '@fleet/queues';
import { type Job, Worker } from 'bullmq';
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

export interface TickWorkerOptions {
  /** A redis:// URL or a cluster. */
  redis: RedisTarget;
  prefix: string;
  db: Kysely<Database>;
  producer: Producer;
  log: Logger;
  schedules: Schedule[];
  concurrency?: number;
  enqueueConcurrency?: number;
}

/**
 * A plain BullMQ worker for the tick queue: each tick fans its schedule out to the target queue.
 * Ticks are control events, so they are not audited; the jobs they add are (pending rows).
 */
export interface TickWorker {
  worker: Worker<TickData, FanOutResult | { skipped: string }>;
  /** Waits for running ticks, then closes the worker and its connection. */
  close(): Promise<void>;
}

export function startTickWorker(options: TickWorkerOptions): TickWorker {
  const connection = createRedis(options.redis, 'worker');
  const byName = new Map(options.schedules.map((s) => [s.name as string, s]));
  const log = options.log.child({ component: 'tick-worker' });
  const worker = new Worker<TickData, FanOutResult | { skipped: string }>(
    TICK_QUEUE,
    async (job, _token, signal) => {
      const schedule = byName.get(job.data.schedule);
      if (!schedule?.enabled) {
        // Another replica with a different configuration created this scheduler; this one's
        // reconcile will remove it, or the other's will keep it and fan it out there.
        log.warn({ schedule: job.data.schedule }, 'tick for a schedule this process does not run; skipped');
        return { skipped: `schedule ${job.data.schedule} is not enabled in this process` };
      }
      const slot = tickSlot(job);
      const result = await fanOut(options.db, options.producer, schedule, slot, {
        log,
        concurrency: options.enqueueConcurrency,
        signal,
      });
      log.info(result, 'schedule fanned out');
      const retryable = result.failed.filter((f) => f.retryable);
      if (retryable.length > 0) {
        // Retrying the tick is safe: job ids are per slot, so only the missing jobs are added.
        throw new Error(
          `${schedule.name}: ${retryable.length} of ${result.targets} jobs could not be added (first: ${retryable[0]!.error})`,
        );
      }
      return result;
    },
    {
      connection,
      prefix: queueKeyPrefix(connection, options.prefix, TICK_QUEUE),
      concurrency: options.concurrency ?? 2,
      autorun: true,
    },
  );
  worker.on('error', (err) => log.warn({ err }, 'tick worker error'));
  worker.on('failed', (job, err) => log.error({ err, schedule: job?.data.schedule }, 'tick failed'));
  return {
    worker,
    async close() {
      await worker.close();
      // BullMQ leaves a connection it was given open.
      connection.disconnect();
    },
  };
}
