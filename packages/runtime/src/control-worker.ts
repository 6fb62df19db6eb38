import type { Database } from '@fleet/db';
import type { RedisClient } from '@fleet/queues';
import { type Job, Worker } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { describeError } from './describe-error.ts';
import type { ControlMetrics } from './metrics.ts';
import type { Scrubber } from './secrets.ts';
import type { WorkerTiming } from './worker-timing.ts';
import { bullmqTiming, FINISHED_JOBS_KEPT } from './worker-timing.ts';

/** What a control job's processor gets besides the job. */
export interface ControlContext<Deps = unknown> {
  /** Database for the processor's own reads and writes (the same pool handlers get). */
  db: Kysely<Database>;
  /** Child logger carrying the agent, queue, job id and attempt. */
  log: Logger;
  /** Aborted when the process shuts down past its grace period. */
  signal: AbortSignal;
  /** What the agent's setup() returned. */
  deps: Deps;
}

/**
 * A queue of control events the runtime hosts beside the agent's own queue, e.g. the scheduler's
 * ticks. Its jobs are not audited (they are not work: the jobs they add get their own rows) and
 * not validated against the catalog; everything else is as for the agent's worker: the same Redis
 * connection and key prefix, the same lock timing and finished-job retention, metrics
 * (`fleet_control_jobs_total`, `fleet_control_job_duration_seconds`, `fleet_queue_depth`),
 * `/readyz` (a control worker that stopped makes the process not ready), logs through the agent's
 * logger, scrubbed failure reasons, and shutdown (stop fetching, wait for running jobs within the
 * grace period, then abort their signals and close). Control workers are not paused while the
 * audit database is unreachable: they write no audit rows.
 * A processor that throws fails the attempt; BullMQ retries it as the job's options say.
 */
export interface ControlWorker<Deps = unknown, Data = unknown> {
  /** A queue name outside the catalog, under the fleet's QUEUE_PREFIX. */
  queue: string;
  /** Jobs run at once by one process (default 1); a function reads it from the agent's deps. */
  concurrency?: number | ((deps: Deps) => number);
  process(job: Job<Data>, ctx: ControlContext<Deps>): Promise<unknown>;
}

export interface ControlWorkerHostOptions<Deps = unknown> {
  /** The agent's worker connection (maxRetriesPerRequest: null); left open on close. */
  connection: RedisClient;
  /** BullMQ key prefix of this control queue (queueKeyPrefix(connection, QUEUE_PREFIX, queue)). */
  prefix: string;
  db: Kysely<Database>;
  /** The agent's root logger; each job gets a child. */
  log: Logger;
  deps: Deps;
  metrics?: ControlMetrics;
  scrub?: Scrubber;
  timing?: Required<WorkerTiming>;
  /** Recorded as each job's processedBy. */
  instanceId?: string;
}

/** A control worker as the runtime runs it. */
export interface HostedControlWorker {
  /** The control queue's name. */
  queue: string;
  worker: Worker;
  /** Starts fetching; resolves once the worker's connections are ready. */
  start(): Promise<void>;
  /** Why the process should not be counted ready because of this worker, if it should not. */
  problem(): string | undefined;
  /** Stops fetching and resolves once running jobs have finished (BullMQ's close()). */
  close(): Promise<void>;
  /** Aborts running jobs' signals (the grace period is over). */
  abort(reason: string): void;
  /** Closes without waiting for running jobs. */
  forceClose(): Promise<void>;
}

const neverAborted = new AbortController().signal;

/** Builds the BullMQ worker of one control queue, not yet fetching (start() does). */
export function hostControlWorker<Deps>(
  control: ControlWorker<Deps>,
  o: ControlWorkerHostOptions<Deps>,
): HostedControlWorker {
  const name = control.queue;
  const log = o.log.child({ queue: name, control: true });
  const concurrency = typeof control.concurrency === 'function' ? control.concurrency(o.deps) : control.concurrency;
  const scrub = o.scrub ?? (<T>(v: T) => v);
  const worker = new Worker(
    name,
    async (job: Job, _token?: string, signal?: AbortSignal) => {
      const started = performance.now();
      const record = (outcome: 'completed' | 'failed') => {
        o.metrics?.controlJobs.inc({ queue: name, outcome });
        o.metrics?.controlDuration.observe({ queue: name, outcome }, (performance.now() - started) / 1_000);
      };
      try {
        const result = await control.process(job, {
          db: o.db,
          log: log.child({ jobId: job.id, attempt: job.attemptsStarted }),
          signal: signal ?? neverAborted,
          deps: o.deps,
        });
        record('completed');
        return result;
      } catch (error) {
        record('failed');
        // BullMQ stores the message as failedReason and the stack as stacktrace: scrubbed copies.
        throw error instanceof Error ? scrub(error) : new Error(scrub(describeError(error)));
      }
    },
    {
      connection: o.connection,
      prefix: o.prefix,
      concurrency: concurrency ?? 1,
      ...(o.timing && bullmqTiming(o.timing)),
      name: o.instanceId,
      ...FINISHED_JOBS_KEPT,
      autorun: false,
    },
  );
  let stopped: string | undefined;
  let closing = false;
  worker.on('error', (err) => log.warn({ err }, 'control worker error'));
  worker.on('failed', (job, err) =>
    log.error({ err, jobId: job?.id, attempt: job?.attemptsStarted }, 'control job failed'),
  );
  // Emitted as close() begins, before the fetch loop ends: a close from elsewhere reads "closed".
  worker.on('closing', () => {
    if (!closing) stopped ??= 'closed';
  });
  return {
    queue: name,
    worker,
    async start() {
      void worker.run().then(
        () => {
          if (!closing) stopped ??= 'stopped';
        },
        (err) => {
          stopped = `stopped: ${scrub(describeError(err))}`;
          log.error({ err }, 'control worker stopped unexpectedly');
        },
      );
      await worker.waitUntilReady();
    },
    problem() {
      if (closing) return undefined;
      if (stopped) return `control worker of ${name} ${stopped}`;
      if (!worker.isRunning()) return `control worker of ${name} is not running`;
      return undefined;
    },
    close() {
      closing = true;
      return worker.close();
    },
    abort(reason) {
      worker.cancelAllJobs(reason);
    },
    async forceClose() {
      closing = true;
      await worker.close(true);
    },
  };
}
