import type { Database, JsonObject } from '@fleet/db';
import type { Queue } from 'bullmq';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';

export interface CleanupDeps {
  db: Kysely<Database>;
  /** Queues whose finished jobs are trimmed, by name. */
  queues: Record<string, Queue>;
  /**
   * Clean only this workspace: its audit rows and idempotency keys. Finished jobs in Redis are
   * then left alone (BullMQ keeps them per queue, not per workspace). Null: the whole fleet.
   */
  workspaceId?: string | null;
  /** autonomous_tasks rows whose executed_at is older than this many days are deleted. */
  retentionDays: number;
  /** Idempotency keys older than this are deleted (IDEMPOTENCY_KEY_TTL_HOURS). */
  idempotencyTtlMs: number;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** Completed jobs older than this are removed from Redis. */
  completedJobAgeMs: number;
  /** Failed jobs older than this are removed from Redis. */
  failedJobAgeMs: number;
  signal?: AbortSignal;
  progress?: (value: JsonObject) => Promise<void> | void;
  log?: Logger;
}

export type CleanupReport = {
  /** The workspace cleaned, or null for the whole fleet. */
  workspace_id: string | null;
  retention_days: number;
  /** Rows executed before this instant were deleted. */
  cutoff: string;
  audit_rows_deleted: number;
  batches: number;
  idempotency_keys_deleted: number;
  jobs_removed: Record<string, { completed: number; failed: number } | { error: string }>;
  jobs_removed_total: number;
};

/** Jobs removed per ZREM batch; BullMQ's clean() works in chunks of this size. */
const CLEAN_LIMIT = 1_000;

/**
 * Deletes old audit rows one batch per statement: each DELETE is its own short transaction
 * that locks at most `batchSize` rows and skips rows another session holds, so writers of new
 * rows never wait long behind it. Returns the number of rows deleted.
 */
export async function deleteOldTaskRows(
  db: Kysely<Database>,
  cutoff: Date,
  batchSize: number,
  onBatch?: (deleted: number, batches: number) => Promise<void> | void,
  signal?: AbortSignal,
  workspaceId: string | null = null,
): Promise<{ deleted: number; batches: number }> {
  let deleted = 0;
  let batches = 0;
  const inWorkspace = workspaceId === null ? sql`true` : sql`workspace_id = ${workspaceId}::uuid`;
  for (;;) {
    signal?.throwIfAborted();
    const result = await sql`
      DELETE FROM autonomous_tasks
      WHERE id IN (
        SELECT id FROM autonomous_tasks
        WHERE executed_at < ${cutoff} AND ${inWorkspace}
        LIMIT ${batchSize}
        FOR UPDATE SKIP LOCKED
      )`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    if (n === 0) break;
    deleted += n;
    batches++;
    await onBatch?.(deleted, batches);
    if (n < batchSize) break;
  }
  return { deleted, batches };
}

/**
 * Deletes expired idempotency keys (of one workspace, or all), one batch per call of
 * purge_expired_idempotency_keys (migration 101): the agents' role may delete expired keys through
 * it and do nothing else with the control plane's keys.
 */
export async function deleteExpiredIdempotencyKeys(
  db: Kysely<Database>,
  cutoff: Date,
  batchSize: number,
  workspaceId: string | null = null,
  signal?: AbortSignal,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { rows } = await sql<{ n: number }>`
      SELECT purge_expired_idempotency_keys(${cutoff}::timestamptz, ${workspaceId}::uuid, ${batchSize}::int) AS n`.execute(
      db,
    );
    const n = Number(rows[0]?.n ?? 0);
    deleted += n;
    if (n < batchSize) return deleted;
  }
}

/** Removes finished jobs older than `graceMs` of one state, in chunks; returns how many. */
async function cleanQueue(queue: Queue, graceMs: number, state: 'completed' | 'failed', signal?: AbortSignal) {
  let removed = 0;
  for (;;) {
    signal?.throwIfAborted();
    const ids = await queue.clean(graceMs, CLEAN_LIMIT, state);
    removed += ids.length;
    if (ids.length < CLEAN_LIMIT) return removed;
  }
}

/**
 * Data retention: deletes autonomous_tasks rows older than the retention period and expired
 * idempotency keys, and trims the completed/failed job sets of every queue. Given a workspace,
 * only that workspace's rows and keys are touched and Redis is left alone. Aborting stops
 * between batches; what was deleted until then stays deleted.
 */
export async function cleanup(deps: CleanupDeps): Promise<CleanupReport> {
  const workspaceId = deps.workspaceId ?? null;
  const cutoff = new Date(Date.now() - deps.retentionDays * 86_400_000);
  const rows = await deleteOldTaskRows(
    deps.db,
    cutoff,
    deps.batchSize,
    async (deleted, batches) => {
      deps.log?.debug({ deleted, batches }, 'audit rows deleted');
      await deps.progress?.({ phase: 'audit_rows', audit_rows_deleted: deleted, batches });
    },
    deps.signal,
    workspaceId,
  );
  const keys = await deleteExpiredIdempotencyKeys(
    deps.db,
    new Date(Date.now() - deps.idempotencyTtlMs),
    deps.batchSize,
    workspaceId,
    deps.signal,
  );

  const jobsRemoved: CleanupReport['jobs_removed'] = {};
  let total = 0;
  for (const [name, queue] of workspaceId === null ? Object.entries(deps.queues) : []) {
    try {
      const completed = await cleanQueue(queue, deps.completedJobAgeMs, 'completed', deps.signal);
      const failed = await cleanQueue(queue, deps.failedJobAgeMs, 'failed', deps.signal);
      jobsRemoved[name] = { completed, failed };
      total += completed + failed;
    } catch (error) {
      if (deps.signal?.aborted) throw error;
      jobsRemoved[name] = { error: (error as Error).message };
    }
    await deps.progress?.({ phase: 'queues', queue: name, audit_rows_deleted: rows.deleted, jobs_removed: total });
  }

  return {
    workspace_id: workspaceId,
    retention_days: deps.retentionDays,
    cutoff: cutoff.toISOString(),
    audit_rows_deleted: rows.deleted,
    batches: rows.batches,
    idempotency_keys_deleted: keys,
    jobs_removed: jobsRemoved,
    jobs_removed_total: total,
  };
}
