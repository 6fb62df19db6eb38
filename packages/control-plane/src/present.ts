import type { Task } from '@fleet/db';
import type { ApiKeyInfo, JobInfo, QueueCounts, TaskDetail, TaskTypeSummary } from '@fleet/ops';

/** JSON shapes of the API: snake_case like the table, times as ISO strings (by JSON.stringify). */

export function presentTask(t: Task) {
  return t;
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
