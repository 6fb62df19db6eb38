/**
 * Span attribute names of the fleet's own spans. The job identity (queue, job id, attempt) is the
 * audit row's key; the task id is the row's id (taskRowId), so a span leads to its row.
 */
export const FleetAttributes = {
  Queue: 'fleet.queue',
  JobName: 'fleet.job_name',
  JobId: 'fleet.job_id',
  Attempt: 'fleet.attempt',
  WorkspaceId: 'fleet.workspace_id',
  TaskId: 'fleet.task_id',
  Agent: 'fleet.agent',
  /** False when an enqueue returned an existing job (deduplication, a known job id). */
  Created: 'fleet.created',
  /** The status an audit write records (pending, completed, failed …). */
  AuditStatus: 'fleet.audit.status',
  /** Rows in the statement that made an audit write durable (group commit). */
  AuditBatchRows: 'fleet.audit.batch_rows',
} as const;
