export {
  type Access,
  ADMIN,
  assertAdmin,
  assertWorkspace,
  authorizeEnqueue,
  canSee,
  canSeeTask,
  isAdmin,
  TENANT_TASK_TYPES,
} from './access.ts';
export {
  type ApiKeyInfo,
  createApiKey,
  hashApiKey,
  listApiKeys,
  type Principal,
  revokeApiKey,
  type VerifyOptions,
  verifyApiKey,
} from './api-keys.ts';
export { type CancelOptions, type CancelResult, cancellable, cancelTask } from './cancel.ts';
export { decodeCursor, encodeCursor, type TaskCursor } from './cursor.ts';
export { type OpenOpsOptions, type OpsDeps, openOps } from './deps.ts';
export { type EnqueueJobRequest, type EnqueueJobResult, enqueueJob } from './enqueue.ts';
export { type FieldProblem, isOpsError, OpsError, type OpsErrorKind } from './errors.ts';
export {
  presentCancel,
  presentDetail,
  presentJob,
  presentKey,
  presentQueue,
  presentRetry,
  presentSummary,
  presentTask,
  presentTaskPage,
  statusUrl,
} from './present.ts';
export { type QueueCounts, queueCounts } from './queue-counts.ts';
export { type RetryOptions, type RetryResult, retryable, retryTask } from './retry.ts';
export {
  type DashboardStats,
  dashboardStats,
  parseStatsFilters,
  type StatsFilters,
  type StatsFiltersInput,
  statsFiltersSchema,
} from './stats.ts';
export { type SummaryInput, summary, type TaskTypeSummary } from './summary.ts';
export { parseTaskFilters, type TaskFilters, type TaskFiltersInput, taskFiltersSchema } from './task-filters.ts';
export { type GetTaskOptions, getTask, type JobInfo, listTasks, type TaskDetail, type TaskPage } from './tasks.ts';
export { findTextProblem, MAX_DEPTH, textProblem } from './text.ts';
