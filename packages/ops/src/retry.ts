import { isQueueName, withoutTrigger } from '@fleet/catalog';
import { clearCancelMark } from '@fleet/runtime';
import { type Access, ADMIN, authorizeEnqueue } from './access.ts';
import type { OpsDeps } from './deps.ts';
import { toOpsError } from './enqueue.ts';
import { conflict, isOpsError } from './errors.ts';
import { getTask, jobNameForTaskType, type TaskDetail } from './tasks.ts';

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

/** What a retry of a task would do now, decided from its detail (see planRetry). */
type RetryPlan = { kind: 'retry' } | { kind: 'requeue'; jobName: string; payload: Record<string, unknown> };

/**
 * The rules of a retry, in one place: retryTask acts on the plan, and retryable() (the dashboard's
 * Retry button) asks the same question without acting. Throws the OpsError that retryTask answers.
 */
function planRetry(detail: TaskDetail, access: Access, id: string): RetryPlan {
  const { queue, job } = detail;
  if (!isQueueName(queue)) throw conflict(`task ${id} belongs to no known queue; it cannot be retried`);

  // Running a task again is enqueueing it again: the same rule applies to its payload.
  if (job) authorizeEnqueue(access, queue, job.name, detail.payload);

  if (job && job.state === 'failed') return { kind: 'retry' };
  if (job && job.state !== 'completed') {
    throw conflict(`task ${id} cannot be retried: its job is ${job.state}; cancel it first or wait for it to finish`);
  }
  const latest = detail.attempts.at(-1) ?? detail.task;
  if (!job && (!latest || !FINISHED.has(latest.status))) {
    throw conflict(`task ${id} cannot be retried: it has not finished (status ${latest?.status ?? 'unknown'})`);
  }

  const jobName = job?.name ?? (latest ? jobNameForTaskType(queue, latest.task_type) : undefined);
  if (!jobName) throw conflict(`task ${id}: no job of ${queue} runs task type ${latest?.task_type}`);
  const source = ((job ? detail.payload : latest?.input_data) ?? {}) as Record<string, unknown>;
  if (source.truncated === true) {
    throw conflict(`task ${id} cannot be retried: its payload was too large to keep; enqueue the job again`);
  }
  const payload = withoutTrigger(source);
  authorizeEnqueue(access, queue, jobName, payload);
  return { kind: 'requeue', jobName, payload };
}

/**
 * Whether `access` may retry the task of `detail` (from getTask with the same access) now: the
 * rules of retryTask, without acting. The state can move before a retry is asked for; retryTask
 * decides again then.
 */
export function retryable(detail: TaskDetail, access: Access): boolean {
  try {
    planRetry(detail, access, detail.jobId);
    return true;
  } catch (error) {
    if (isOpsError(error)) return false;
    throw error;
  }
}

/**
 * Runs a task again. A job that failed in BullMQ is retried in place (attempts are numbered on,
 * so every attempt keeps its own audit row); a finished task whose job is completed or gone is
 * enqueued again with the same payload as a new job.
 */
export async function retryTask(deps: OpsDeps, id: string, options: RetryOptions = {}): Promise<RetryResult> {
  const access = options.access ?? ADMIN;
  const detail = await getTask(deps, id, { access, queue: options.queue });
  const { queue, jobId } = detail;
  const plan = planRetry(detail, access, id);

  if (plan.kind === 'retry') {
    const job = isQueueName(queue) ? await deps.producer.queue(queue).getJob(jobId) : undefined;
    if (!job) throw conflict(`task ${id} cannot be retried: its job left the queue meanwhile; retry it again`);
    // A cancel recorded earlier must not stop the retry an operator asks for now.
    await clearCancelMark(deps.redis, deps.prefix, queue, jobId);
    // resetAttemptsMade gives the job its full retry budget again; attemptsStarted keeps counting
    // so the next attempt's audit row is a new one instead of colliding with a finished attempt.
    await job.retry('failed', { resetAttemptsMade: true });
    return { action: 'retried', queue, jobId };
  }
  try {
    const r = await deps.producer.enqueueRaw(queue, plan.jobName, plan.payload, { triggeredBy: 'retry' });
    return { action: 'requeued', queue, jobId: r.jobId, previousJobId: jobId };
  } catch (error) {
    throw toOpsError(error);
  }
}
