import { isUuid } from '@fleet/db';
/**
 * The job id recorded in autonomous_tasks.job_id.
 *
 * UUID job ids (what the producer client, the HTTP API and the CLI create) are recorded as they
 * are. Any other id — BullMQ's auto-numbers, or ids chosen by a producer — is recorded as
 * `<id>@<job.timestamp>`: auto-numbers restart at 1 when Redis loses its data or a queue is
 * obliterated, and chosen ids come back once a finished job is removed, so the bare id alone
 * could collide with an older job's rows, and an upsert would then silently keep the old row.
 */

export function auditJobId(jobId: string, timestamp: number): string {
  return isUuid(jobId) ? jobId : `${jobId}@${Math.trunc(timestamp)}`;
}

/** Splits an audit job id back into the BullMQ id and, when present, the job's creation time. */
export function parseAuditJobId(auditId: string): { jobId: string; timestamp: number | null } {
  const at = auditId.lastIndexOf('@');
  if (at > 0 && /^\d+$/.test(auditId.slice(at + 1))) {
    return { jobId: auditId.slice(0, at), timestamp: Number(auditId.slice(at + 1)) };
  }
  return { jobId: auditId, timestamp: null };
}
