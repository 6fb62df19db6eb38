import { createAheadPartitions, type Database, type JsonObject } from '@fleet/db';
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
  /** Partitions of autonomous_tasks dropped whole (fleet-wide cleanup only). */
  partitions_dropped: string[];
  /** Partitions created ahead. */
  partitions_created: number;
  /** Rows deleted one by one: those older than the cutoff in partitions that were not dropped. */
  audit_rows_deleted: number;
  batches: number;
  idempotency_keys_deleted: number;
  jobs_removed: Record<string, { completed: number; failed: number } | { error: string }>;
  jobs_removed_total: number;
};

/** Jobs removed per ZREM batch; BullMQ's clean() works in chunks of this size. */
const CLEAN_LIMIT = 1_000;

/**
 * Drops the partitions of autonomous_tasks that hold only rows older than the cutoff (their whole
 * created_at range ends before it and every row executed before it): no row is read or deleted,
 * and no WAL is written per row. Each is detached and dropped by autonomous_tasks_retire_partition
 * (migration 140), which holds the table's lock for milliseconds and gives up after a short
 * lock_timeout rather than queue writers behind a long-running reader; the next run retries.
 * Returns the names dropped.
 */
export async function retireOldPartitions(db: Kysely<Database>, cutoff: Date, signal?: AbortSignal): Promise<string[]> {
  const { rows } = await sql<{ partition_name: string }>`
    SELECT partition_name FROM autonomous_tasks_retirable_partitions(${cutoff}::timestamptz)`.execute(db);
  const dropped: string[] = [];
  for (const { partition_name } of rows) {
    signal?.throwIfAborted();
    const { rows: done } = await sql<{ ok: boolean }>`
      SELECT autonomous_tasks_retire_partition(${partition_name}, ${cutoff}::timestamptz) AS ok`.execute(db);
    if (done[0]?.ok) dropped.push(partition_name);
  }
  return dropped;
}

/**
 * The oldest created_at whose rows are deleted one by one: the start of the partition holding the
 * cutoff (minus infinity for autonomous_tasks_legacy). Older partitions were dropped whole, or
 * are kept whole for a row that executed after the cutoff; deleting their other rows one by one
 * would write the WAL that dropping them later avoids.
 */
async function rowDeletesFrom(db: Kysely<Database>, cutoff: Date): Promise<Date | string> {
  const { rows } = await sql<{ from: Date | string }>`
    SELECT coalesce(
      (SELECT coalesce(lower_bound, '-infinity') FROM autonomous_tasks_partitions()
       WHERE NOT is_default AND coalesce(lower_bound, '-infinity') <= ${cutoff}::timestamptz
         AND upper_bound > ${cutoff}::timestamptz),
      ${cutoff}::timestamptz) AS from`.execute(db);
  return rows[0]!.from;
}

/**
 * Deletes old audit rows one batch per statement: each DELETE is its own short transaction
 * that locks at most `batchSize` rows and skips rows another session holds, so writers of new
 * rows never wait long behind it. Given a workspace, its rows in every partition; otherwise the
 * rows of the partition holding the cutoff (and of the default partition), since retireOldPartitions
 * handles whole partitions. Returns the number of rows deleted.
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
  const scope =
    workspaceId === null
      ? sql`created_at >= ${await rowDeletesFrom(db, cutoff)}::timestamptz`
      : sql`workspace_id = ${workspaceId}::uuid`;
  for (;;) {
    signal?.throwIfAborted();
    // (id, created_at) is the key: created_at lets each lookup go to one partition.
    const result = await sql`
      DELETE FROM autonomous_tasks
      WHERE (id, created_at) IN (
        SELECT id, created_at FROM autonomous_tasks
        WHERE executed_at < ${cutoff} AND ${scope}
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
 * Data retention: creates the audit table's partitions ahead, drops its partitions older than
 * the retention period, deletes the remaining older rows and expired idempotency keys, and trims
 * the completed/failed job sets of every queue. Given a workspace, only that workspace's rows and
 * keys are deleted, row by row: no partition is created or dropped and Redis is left alone.
 * Aborting stops between batches; what was deleted until then stays deleted.
 */
export async function cleanup(deps: CleanupDeps): Promise<CleanupReport> {
  const workspaceId = deps.workspaceId ?? null;
  const cutoff = new Date(Date.now() - deps.retentionDays * 86_400_000);
  let created = 0;
  let dropped: string[] = [];
  if (workspaceId === null) {
    created = await createAheadPartitions(deps.db);
    dropped = await retireOldPartitions(deps.db, cutoff, deps.signal);
    if (dropped.length > 0) deps.log?.info({ partitions: dropped }, 'audit partitions dropped');
    await deps.progress?.({ phase: 'audit_partitions', partitions_dropped: dropped.length });
  }
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
    partitions_dropped: dropped,
    partitions_created: created,
    audit_rows_deleted: rows.deleted,
    batches: rows.batches,
    idempotency_keys_deleted: keys,
    jobs_removed: jobsRemoved,
    jobs_removed_total: total,
  };
}
