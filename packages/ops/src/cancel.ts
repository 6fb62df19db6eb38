import type { TaskStart } from '@fleet/audit-writer';
import { auditJobId, catalog, isQueueName, taskTypeOf, triggerOf, workspaceOf } from '@fleet/catalog';
import { type JsonObject, TERMINAL_STATUSES } from '@fleet/db';
import { clearCancelMark, markCancelled } from '@fleet/runtime';
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
  /** How long to wait for the worker running the job to confirm (default 3 s). */
  confirmMs?: number;
}

export interface CancelResult {
  /**
   * `cancelled`: the task's latest row is `cancelled` now. `pending`: the cancel is recorded but
   * the worker that holds the job has not stopped it yet — it is still stopping, or it died and
   * BullMQ has not handed the job out again. Either way the job never runs again: the next
   * attempt, or the recovery of the lost one, ends `cancelled`.
   */
  outcome: 'cancelled' | 'pending';
  /**
   * removed: it was waiting or delayed, and left the queue; closed: its job was already gone and
   * its pending row is closed; aborted: its worker stopped it; marked: recorded for its recovery.
   */
  action: 'removed' | 'closed' | 'aborted' | 'marked';
  queue: string;
  jobId: string;
  /** The attempt whose row is (or will be) `cancelled`. */
  attempt: number;
  /** Worker processes that heard the cancel (aborted, marked). */
  receivers?: number;
  /** What happened, in one sentence, for the CLI and the API alike. */
  message: string;
}

const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);
const TERMINAL = new Set<string>(TERMINAL_STATUSES);

/** The identity and inputs of attempt `attempt` of a job, as the audit writer needs them. */
function startFor(detail: TaskDetail, job: Job | null, attempt: number): TaskStart {
  const data = (job?.data ?? detail.task?.input_data ?? {}) as Record<string, unknown>;
  const sameAttempt = detail.attempts.find((a) => a.attempt === attempt);
  return {
    queueName: detail.queue,
    jobId: job ? auditJobId(String(job.id), job.timestamp) : detail.auditJobId,
    attempt,
    workspaceId: detail.task?.workspace_id ?? workspaceOf(data),
    taskType: detail.task?.task_type ?? taskTypeOf(detail.queue, job?.name ?? ''),
    agentName: isQueueName(detail.queue) ? catalog[detail.queue].agent : (detail.task?.agent_name ?? null),
    triggeredBy: sameAttempt?.triggered_by ?? triggerOf(data, 'api'),
    inputData: (sameAttempt?.input_data ?? data) as JsonObject,
    executedAt: new Date(),
    jobCreatedAt: job ? new Date(job.timestamp) : (detail.task?.created_at ?? new Date()),
  };
}

/**
 * Whether cancelTask would act on the task of `detail` (from getTask, which applied the caller's
 * access) now: its job is waiting, delayed or active, or it left Redis with a `pending` row open.
 * The dashboard's Cancel button asks this; cancelTask decides again when asked.
 */
export function cancellable(detail: TaskDetail): boolean {
  if (!detail.job) return detail.attempts.some((a) => a.status === 'pending');
  return WAITING_STATES.has(detail.job.state) || detail.job.state === 'active';
}

const finished = (id: string, what: string) =>
  conflict(`task ${id} is already finished (${what}); there is nothing to cancel`);

/**
 * Cancels a task's job wherever it is, and says truthfully what happened.
 *
 * - waiting or delayed: removed from its queue; the attempt it would have run is recorded
 *   `cancelled`;
 * - gone from Redis with an open `pending` row: that row is closed `cancelled`;
 * - active: a cancel mark is recorded (it outlives the worker) and the worker is told to abort;
 *   this waits up to `confirmMs` for the attempt's row to turn `cancelled`. If the worker died,
 *   the mark makes the job end `cancelled` when it is recovered (process mode: at once; otherwise
 *   after its stall), never run again;
 * - finished: a conflict ("already finished").
 */
export async function cancelTask(deps: OpsDeps, id: string, options: CancelOptions = {}): Promise<CancelResult> {
  const detail = await getTask(deps, id, { access: options.access ?? ADMIN, queue: options.queue });
  const reason = (options.reason ?? 'cancelled by an operator').slice(0, 500);
  const { queue, jobId } = detail;
  const job = isQueueName(queue) ? ((await deps.producer.queue(queue).getJob(jobId)) ?? null) : null;

  if (!job) {
    const open = detail.attempts.find((a) => a.status === 'pending');
    if (!open?.attempt) throw finished(id, `status ${detail.task?.status ?? 'unknown'}`);
    await deps.auditWriter.finish(startFor(detail, null, open.attempt), {
      status: 'cancelled',
      errorMessage: `cancelled: ${reason}`,
    });
    return {
      outcome: 'cancelled',
      action: 'closed',
      queue,
      jobId,
      attempt: open.attempt,
      message: `cancelled: job ${jobId} was no longer queued; its pending row is closed as cancelled`,
    };
  }

  let state = await job.getState();
  if (WAITING_STATES.has(state)) {
    const removed = await removeWaiting(deps, detail, job, reason);
    if (removed) return removed;
    state = await job.getState();
  }
  if (state !== 'active') throw finished(id, `its job is ${state}`);

  const attempt = job.attemptsStarted;
  const rowJobId = auditJobId(String(job.id), job.timestamp);
  const receivers = await markCancelled(deps.redis, deps.prefix, { queue, jobId, reason });
  const deadline = Date.now() + (options.confirmMs ?? 3_000);
  for (;;) {
    const row = await deps.db
      .selectFrom('autonomous_tasks')
      .select('status')
      .where('queue_name', '=', queue)
      .where('job_id', '=', rowJobId)
      .where('attempt', '=', attempt)
      .executeTakeFirst();
    if (row?.status === 'cancelled') {
      return {
        outcome: 'cancelled',
        action: 'aborted',
        queue,
        jobId,
        attempt,
        receivers,
        message: `cancelled: the worker running job ${jobId} stopped it (attempt ${attempt})`,
      };
    }
    const now = (await job.getState()) as string;
    if (now === 'completed' || (now === 'failed' && row && TERMINAL.has(row.status))) {
      // It ended on its own before the cancel reached it; the mark has nothing left to stop.
      await clearCancelMark(deps.redis, deps.prefix, queue, jobId);
      throw finished(id, `attempt ${attempt} ended ${row?.status ?? now} before the cancel reached it`);
    }
    if (WAITING_STATES.has(now)) {
      // Back in the queue (a retry after a failure, or returned after its worker stalled).
      const removed = await removeWaiting(deps, detail, job, reason);
      if (removed) return { ...removed, receivers };
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    outcome: 'pending',
    action: 'marked',
    queue,
    jobId,
    attempt,
    receivers,
    message:
      `will be cancelled when recovered: job ${jobId} is held by a worker that has not stopped it yet ` +
      '(still stopping, or it died); it ends cancelled when it stops or is recovered, and never runs again',
  };
}

/** Removes a waiting or delayed job and records the attempt it would have run; null if a worker took it. */
async function removeWaiting(
  deps: OpsDeps,
  detail: TaskDetail,
  job: Job,
  reason: string,
): Promise<CancelResult | null> {
  try {
    await job.remove();
  } catch (error) {
    // A worker took the job between getState() and remove() (it is locked): cancel it running.
    if ((await job.getState()) === 'active') return null;
    throw error;
  }
  const attempt = job.attemptsStarted + 1;
  await deps.auditWriter.finish(startFor(detail, job, attempt), {
    status: 'cancelled',
    errorMessage: `cancelled before it ran: ${reason}`,
  });
  await clearCancelMark(deps.redis, deps.prefix, detail.queue, detail.jobId);
  return {
    outcome: 'cancelled',
    action: 'removed',
    queue: detail.queue,
    jobId: detail.jobId,
    attempt,
    message: `cancelled: removed job ${detail.jobId} from ${detail.queue} before it ran`,
  };
}
