import { isUuid, type JsonObject, type TaskType } from '@fleet/db';
import { auditJobId, catalog, isQueueName } from '@fleet/queues';
import { publishCancel } from '@fleet/runtime';
import type { TaskStart } from '@fleet/task-logger';
import type { Job } from 'bullmq';
import { type Access, ADMIN } from './access.ts';
import type { OpsDeps } from './deps.ts';
import { conflict } from './errors.ts';
import { getTask, type TaskDetail } from './tasks.ts';

export interface CancelOptions {
  access?: Access;
  queue?: string;
  /** Recorded in the row's error_message and sent to the worker; default 'cancelled by an operator'. */
  reason?: string;
}

export type CancelResult =
  | {
      /** The job was waiting or delayed: it is removed and its next attempt recorded as cancelled. */
      action: 'removed';
      queue: string;
      jobId: string;
      attempt: number;
    }
  | {
      /** The job is running: its worker was asked to abort it; the worker records the cancelled row. */
      action: 'signalled';
      queue: string;
      jobId: string;
      /** Worker processes that received the request (0: none listening, e.g. all restarting). */
      receivers: number;
    }
  | {
      /** The job was already gone from Redis; its open `pending` row is closed as cancelled. */
      action: 'closed';
      queue: string;
      jobId: string;
      attempt: number;
    };

const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

function taskTypeOf(queue: string, jobName: string, detail: TaskDetail): TaskType {
  if (detail.task) return detail.task.task_type;
  const jobs = isQueueName(queue) ? (catalog[queue].jobs as Record<string, { taskType: TaskType }>) : {};
  return jobs[jobName]?.taskType ?? 'system_health_check';
}

/** The identity and inputs of attempt `attempt` of a job, as the audit writer needs them. */
function startFor(detail: TaskDetail, job: Job | null, attempt: number): TaskStart {
  const data = (job?.data ?? detail.task?.input_data ?? {}) as Record<string, unknown>;
  const ws = detail.task?.workspace_id ?? (typeof data.workspace_id === 'string' ? data.workspace_id : null);
  const sameAttempt = detail.attempts.find((a) => a.attempt === attempt);
  return {
    queueName: detail.queue,
    jobId: job ? auditJobId(String(job.id), job.timestamp) : detail.auditJobId,
    attempt,
    workspaceId: ws && isUuid(ws) ? ws : null,
    taskType: taskTypeOf(detail.queue, job?.name ?? '', detail),
    agentName: isQueueName(detail.queue) ? catalog[detail.queue].agent : (detail.task?.agent_name ?? null),
    triggeredBy: sameAttempt?.triggered_by ?? (typeof data.triggered_by === 'string' ? data.triggered_by : 'api'),
    inputData: (sameAttempt?.input_data ?? data) as JsonObject,
    executedAt: new Date(),
  };
}

/**
 * Cancels a task's job. A waiting or delayed job is removed from its queue and the attempt it
 * would have run is recorded as `cancelled` (an open `pending` row of that attempt is closed);
 * an active job is cancelled through the runtime's cancel channel, and its worker records the
 * `cancelled` row when the handler stops. Finished jobs are a conflict.
 */
export async function cancelTask(deps: OpsDeps, id: string, options: CancelOptions = {}): Promise<CancelResult> {
  const detail = await getTask(deps, id, { access: options.access ?? ADMIN, queue: options.queue });
  const reason = (options.reason ?? 'cancelled by an operator').slice(0, 500);
  const { queue, jobId } = detail;
  const job = isQueueName(queue) ? ((await deps.producer.queue(queue).getJob(jobId)) ?? null) : null;

  if (!job) {
    const open = detail.attempts.find((a) => a.status === 'pending');
    if (!open?.attempt) {
      throw conflict(
        `task ${id} cannot be cancelled: its job is no longer queued (status ${detail.task?.status ?? 'unknown'})`,
      );
    }
    await deps.taskLogger.finish(startFor(detail, null, open.attempt), {
      status: 'cancelled',
      errorMessage: `cancelled: ${reason}`,
    });
    return { action: 'closed', queue, jobId, attempt: open.attempt };
  }

  let state = await job.getState();
  if (WAITING_STATES.has(state)) {
    try {
      await job.remove();
      const attempt = job.attemptsStarted + 1;
      await deps.taskLogger.finish(startFor(detail, job, attempt), {
        status: 'cancelled',
        errorMessage: `cancelled before it ran: ${reason}`,
      });
      return { action: 'removed', queue, jobId, attempt };
    } catch (error) {
      // A worker took the job between getState() and remove() (it is locked): cancel it running.
      state = await job.getState();
      if (state !== 'active') throw error;
    }
  }
  if (state === 'active') {
    const receivers = await publishCancel(deps.redis, deps.prefix, { queue, jobId, reason });
    return { action: 'signalled', queue, jobId, receivers };
  }
  throw conflict(`task ${id} cannot be cancelled: its job is already ${state}`);
}
