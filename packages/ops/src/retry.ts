import { isQueueName } from '@fleet/queues';
import { clearCancelMark } from '@fleet/runtime';
import { type Access, ADMIN, authorizeEnqueue } from './access.ts';
import type { OpsDeps } from './deps.ts';
import { toOpsError } from './enqueue.ts';
import { conflict } from './errors.ts';
import { getTask, jobNameForTaskType } from './tasks.ts';

export interface RetryOptions {
  access?: Access;
  queue?: string;
}

export type RetryResult =
  | {
      /** The failed job was moved back to waiting; same job id, next attempt number. */
      action: 'retried';
      queue: string;
      jobId: string;
    }
  | {
      /** The finished task was enqueued again as a new job (triggered_by 'retry'). */
      action: 'requeued';
      queue: string;
      jobId: string;
      previousJobId: string;
    };

const FINISHED = new Set(['completed', 'failed', 'partial_failure', 'cancelled']);

/**
 * Runs a task again. A job that failed in BullMQ is retried in place (attempts are numbered on,
 * so every attempt keeps its own audit row); a finished task whose job is completed or gone is
 * enqueued again with the same payload as a new job.
 */
export async function retryTask(deps: OpsDeps, id: string, options: RetryOptions = {}): Promise<RetryResult> {
  const access = options.access ?? ADMIN;
  const detail = await getTask(deps, id, { access, queue: options.queue });
  const { queue, jobId } = detail;
  if (!isQueueName(queue)) throw conflict(`task ${id} belongs to no known queue; it cannot be retried`);
  const job = (await deps.producer.queue(queue).getJob(jobId)) ?? null;
  const state = job ? await job.getState() : null;

  // Running a task again is enqueueing it again: the same rule applies to its payload.
  if (job) authorizeEnqueue(access, queue, job.name, job.data);

  if (job && state === 'failed') {
    // A cancel recorded earlier must not stop the retry an operator asks for now.
    await clearCancelMark(deps.redis, deps.prefix, queue, jobId);
    // resetAttemptsMade gives the job its full retry budget again; attemptsStarted keeps counting
    // so the next attempt's audit row is a new one instead of colliding with a finished attempt.
    await job.retry('failed', { resetAttemptsMade: true });
    return { action: 'retried', queue, jobId };
  }
  if (job && state !== 'completed') {
    throw conflict(`task ${id} cannot be retried: its job is ${state}; cancel it first or wait for it to finish`);
  }
  const latest = detail.attempts.at(-1) ?? detail.task;
  if (!job && (!latest || !FINISHED.has(latest.status))) {
    throw conflict(`task ${id} cannot be retried: it has not finished (status ${latest?.status ?? 'unknown'})`);
  }

  const jobName = job?.name ?? (latest ? jobNameForTaskType(queue, latest.task_type) : undefined);
  if (!jobName) throw conflict(`task ${id}: no job of ${queue} runs task type ${latest?.task_type}`);
  const source = (job?.data ?? latest?.input_data ?? {}) as Record<string, unknown>;
  if (source.truncated === true) {
    throw conflict(`task ${id} cannot be retried: its payload was too large to keep; enqueue the job again`);
  }
  const { triggered_by: _, ...payload } = source;
  authorizeEnqueue(access, queue, jobName, payload);
  try {
    const r = await deps.producer.enqueueRaw(queue, jobName, payload, { triggeredBy: 'retry' });
    return { action: 'requeued', queue, jobId: r.jobId, previousJobId: jobId };
  } catch (error) {
    throw toOpsError(error);
  }
}
