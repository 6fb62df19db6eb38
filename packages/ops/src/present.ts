/**
 * The JSON shapes of the fleet's operations, as the HTTP API answers and `fleet … --json` prints
 * them: snake_case like the table, times as ISO strings (by JSON.stringify). One definition, so a
 * script can move between the CLI and the API without renaming a field.
 */
import type { Task } from '@fleet/db';
import type { ApiKeyInfo } from './api-keys.ts';
import type { CancelResult } from './cancel.ts';
import type { QueueCounts } from './queue-counts.ts';
import type { RetryResult } from './retry.ts';
import type { TaskTypeSummary } from './summary.ts';
import type { JobInfo, TaskDetail, TaskPage } from './tasks.ts';

export function presentTask(t: Task) {
  return t;
}

export function presentTaskPage(page: TaskPage) {
  return { tasks: page.tasks.map(presentTask), next_cursor: page.nextCursor };
}

export function presentJob(j: JobInfo) {
  return {
    queue: j.queue,
    id: j.id,
    name: j.name,
    state: j.state,
    attempts_started: j.attemptsStarted,
    attempts_made: j.attemptsMade,
    max_attempts: j.maxAttempts,
    failed_reason: j.failedReason,
    progress: j.progress,
    delay_ms: j.delayMs,
    priority: j.priority,
    created_at: j.createdAt,
    processed_at: j.processedAt,
    finished_at: j.finishedAt,
  };
}

export function presentDetail(d: TaskDetail) {
  return {
    task: d.task,
    attempts: d.attempts,
    queue: d.queue,
    job_id: d.jobId,
    job: d.job ? presentJob(d.job) : null,
    payload: d.payload,
  };
}

export function presentSummary(s: TaskTypeSummary) {
  return {
    task_type: s.taskType,
    total_executions: s.totalExecutions,
    successful_executions: s.successfulExecutions,
    failed_executions: s.failedExecutions,
    avg_duration_ms: s.avgDurationMs,
    total_cost_usd: s.totalCostUsd,
    last_execution: s.lastExecution,
  };
}

export function presentQueue(q: QueueCounts) {
  return {
    queue: q.queue,
    agent: q.agent,
    waiting: q.waiting,
    active: q.active,
    delayed: q.delayed,
    failed: q.failed,
    prioritized: q.prioritized,
    completed: q.completed,
    oldest_waiting_ms: q.oldestWaitingMs,
    is_paused: q.isPaused,
  };
}

export function presentKey(k: ApiKeyInfo) {
  return {
    id: k.id,
    name: k.name,
    key_prefix: k.keyPrefix,
    workspace_ids: k.workspaceIds,
    created_at: k.createdAt,
    last_used_at: k.lastUsedAt,
    revoked_at: k.revokedAt,
  };
}

export function presentCancel(c: CancelResult) {
  return {
    outcome: c.outcome,
    action: c.action,
    queue: c.queue,
    job_id: c.jobId,
    attempt: c.attempt,
    ...(c.receivers !== undefined ? { receivers: c.receivers } : {}),
    message: c.message,
  };
}

/** Where to poll a task: the API's path, also printed by the CLI's --json. */
export function statusUrl(queue: string, jobId: string): string {
  return `/v1/tasks/${encodeURIComponent(jobId)}?queue=${encodeURIComponent(queue)}`;
}

export function presentRetry(r: RetryResult) {
  return {
    action: r.action,
    queue: r.queue,
    job_id: r.jobId,
    ...(r.action === 'requeued' ? { previous_job_id: r.previousJobId } : {}),
    status_url: statusUrl(r.queue, r.jobId),
  };
}
