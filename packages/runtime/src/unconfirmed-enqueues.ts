import type { AuditWriter } from '@fleet/audit-writer';
import { parseAuditJobId } from '@fleet/catalog';
import type { Database } from '@fleet/db';
import { clearUnconfirmed, listUnconfirmed } from '@fleet/queues';
import type { Queue } from 'bullmq';
import type { Kysely } from 'kysely';

export interface ResolveUnconfirmedOptions {
  queue: Queue;
  db: Kysely<Database>;
  auditWriter: AuditWriter;
  agentName: string;
  /** Entries younger than this are left for a later sweep (the add may still be on its way). */
  graceMs: number;
  /** Entries handled per sweep. */
  limit?: number;
}

/** How long an unconfirmed enqueue waits before its absence from Redis counts (default). */
export const UNCONFIRMED_GRACE_MS = 120_000;

/**
 * Resolves the enqueues of one queue whose outcome the producer could not learn (see
 * unconfirmed_enqueues, migration 100), once they are older than the grace period:
 *  - the job is in Redis: it was queued; the entry is dropped and the row lives on as usual;
 *  - the row is no longer pending: the job ran (and may already be gone); the entry is dropped;
 *  - otherwise the job never reached Redis: its pending row is closed as `failed` saying so.
 * Returns how many rows it closed.
 */
export async function resolveUnconfirmedEnqueues(o: ResolveUnconfirmedOptions): Promise<number> {
  const entries = await listUnconfirmed(o.db, o.queue.name, new Date(Date.now() - o.graceMs), o.limit ?? 100);
  let closed = 0;
  for (const entry of entries) {
    const job = await o.queue.getJob(parseAuditJobId(entry.jobId).jobId);
    if (!job) {
      const row = await o.db
        .selectFrom('autonomous_tasks')
        .select([
          'status',
          'task_type',
          'workspace_id',
          'input_data',
          'triggered_by',
          'executed_at',
          'agent_name',
          'created_at',
        ])
        .where('queue_name', '=', entry.queueName)
        .where('job_id', '=', entry.jobId)
        .where('attempt', '=', 1)
        .executeTakeFirst();
      if (row?.status === 'pending') {
        await o.auditWriter.finish(
          {
            queueName: entry.queueName,
            jobId: entry.jobId,
            attempt: 1,
            workspaceId: row.workspace_id,
            taskType: row.task_type,
            agentName: row.agent_name ?? o.agentName,
            triggeredBy: row.triggered_by,
            inputData: row.input_data,
            executedAt: row.executed_at,
            jobCreatedAt: row.created_at,
          },
          {
            status: 'failed',
            errorMessage:
              `could not enqueue: Redis did not confirm adding the job (${entry.reason}) and it was not in ` +
              `the queue ${Math.round((Date.now() - entry.recordedAt.getTime()) / 1000)} s later; enqueue it again`,
          },
        );
        closed++;
      }
    }
    await clearUnconfirmed(o.db, entry.queueName, entry.jobId);
  }
  return closed;
}
