import type { AuditWriter } from '@fleet/audit-writer';
import { taskTypeOf } from '@fleet/catalog';
import type { RedisClient } from '@fleet/queues';
import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import { clearCancelMark, readCancelMark } from './cancel-marks.ts';
import { taskStart } from './processor.ts';
import type { Scrubber } from './secrets.ts';

export interface LostWorkerOptions {
  /** The queues the dead process consumed. */
  queues: Queue[];
  /** Any command connection to the queues' Redis (reads locks and cancel marks). */
  redis: RedisClient;
  prefix: string;
  /** FLEET_INSTANCE_ID of the dead process: its BullMQ worker name, so its jobs' processedBy. */
  instanceId: string;
  agentName: string;
  auditWriter: AuditWriter;
  scrub: Scrubber;
  /** What happened, for the rows: "media-transcription exited with signal SIGKILL". */
  how: string;
}

export interface RecoveredJob {
  queue: string;
  jobId: string;
  attempt: number;
  outcome: 'retry' | 'failed' | 'cancelled';
}

/**
 * Recovers the jobs of a worker process that is known to be dead (its supervisor saw it exit),
 * without waiting for its locks to expire: each attempt's row is closed first, then the job is
 * failed with the lost lock's own token, so BullMQ retries it with the job's backoff (or fails it
 * when its attempts are spent, as for any failure: a job that kills its worker every time stops).
 * A job with a cancel mark ends cancelled instead. A job whose lock already expired is left to
 * BullMQ's stalled check and the reconciler, which handle it the same way, only later.
 */
export async function recoverLostWorkerJobs(o: LostWorkerOptions): Promise<RecoveredJob[]> {
  const recovered: RecoveredJob[] = [];
  for (const queue of o.queues) {
    const active = (await queue.getActive(0, -1)) as Job[];
    for (const job of active) {
      if (!job?.id || job.processedBy !== o.instanceId) continue;
      const token = await o.redis.get(`${queue.toKey(job.id)}:lock`);
      if (!token) continue;
      const start = taskStart(job, o.agentName, taskTypeOf(queue.name, job.name), o.scrub);
      const reason = await readCancelMark(o.redis, o.prefix, queue.name, job.id);
      if (reason !== null) {
        await o.auditWriter.finish(start, {
          status: 'cancelled',
          errorMessage: `cancelled: ${reason} (its worker was lost before it stopped: ${o.how})`,
        });
        await job.moveToFailed(new UnrecoverableError(`cancelled: ${reason}`), token);
        await clearCancelMark(o.redis, o.prefix, queue.name, job.id);
        recovered.push({ queue: queue.name, jobId: job.id, attempt: start.attempt, outcome: 'cancelled' });
        continue;
      }
      const maxAttempts = job.opts.attempts ?? 1;
      const failures = job.attemptsMade + 1;
      const willRetry = failures < maxAttempts;
      const lost = `worker lost: ${o.how} while running this attempt`;
      await o.auditWriter.finish(start, {
        status: 'failed',
        errorMessage: willRetry ? `${lost} (failure ${failures} of ${maxAttempts} allowed; will retry)` : lost,
      });
      await job.moveToFailed(new Error(lost), token);
      recovered.push({
        queue: queue.name,
        jobId: job.id,
        attempt: start.attempt,
        outcome: willRetry ? 'retry' : 'failed',
      });
    }
  }
  return recovered;
}
