/**
 * The online half of migration 140 (autonomous_tasks partitioned by created_at): the work that
 * reads the whole table, done before the migration's transaction and without blocking writers,
 * so the transaction itself only swaps catalog entries (docs/partitioning.md).
 */
import { type Kysely, sql } from 'kysely';

/** The migration that converts the table; its preparation runs while it is pending. */
export const PARTITIONING_MIGRATION = '140_autonomous_tasks_partitioned';

const RANGE_CHECK = 'autonomous_tasks_partition_range_check';

// biome-ignore lint/suspicious/noExplicitAny: runs before the typed schema exists
type AnyDb = Kysely<any>;

/** Whether autonomous_tasks exists as an ordinary (not yet partitioned) table. */
async function isPlainTable(db: AnyDb): Promise<boolean> {
  const { rows } = await sql<{ relkind: string }>`
    SELECT relkind FROM pg_class WHERE oid = to_regclass('public.autonomous_tasks')`.execute(db);
  return rows[0]?.relkind === 'r';
}

/** Builds a unique index CONCURRENTLY, first dropping an invalid one a failed build left behind. */
async function buildUniqueIndex(db: AnyDb, name: string, columns: string): Promise<void> {
  const { rows } = await sql<{ valid: boolean }>`
    SELECT x.indisvalid AS valid FROM pg_index x WHERE x.indexrelid = to_regclass(${`public.${name}`})`.execute(db);
  if (rows[0]?.valid === true) return;
  if (rows[0]) await sql.raw(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`).execute(db);
  await sql.raw(`CREATE UNIQUE INDEX CONCURRENTLY ${name} ON autonomous_tasks (${columns})`).execute(db);
}

/**
 * Prepares the unpartitioned autonomous_tasks for migration 140, with writers running:
 *  - a CHECK (created_at < cutoff) added NOT VALID (a moment's lock) and then validated (a scan
 *    that blocks no writes); cutoff is the start of the interval after the next, so rows written
 *    until the switch fit;
 *  - the unique indexes of the new keys, (id, created_at) and (queue_name, job_id, attempt,
 *    created_at), built CONCURRENTLY. From then on writers of either release work: the old ones
 *    conflict on the three identity columns, the new ones on the four.
 * Idempotent; a no-op once the table is partitioned. Must not run inside a transaction.
 */
export async function preparePartitioning(db: AnyDb): Promise<boolean> {
  if (!(await isPlainTable(db))) return false;
  const { rows } = await sql<{ validated: boolean }>`
    SELECT convalidated AS validated FROM pg_constraint
    WHERE conrelid = 'public.autonomous_tasks'::regclass AND conname = ${RANGE_CHECK}`.execute(db);
  if (!rows[0]) {
    await db.transaction().execute(async (trx) => {
      // Wait briefly for the lock rather than queueing writers behind a long-running reader.
      await sql`SET LOCAL lock_timeout = '5s'`.execute(trx);
      const { rows: unit } = await sql<{ cutoff: Date }>`
        SELECT date_trunc(u, now(), 'UTC') + 2 * (CASE u WHEN 'month' THEN interval '1 month' ELSE interval '1 day' END) AS cutoff
        FROM (SELECT coalesce(nullif(current_setting('fleet.audit_partition_interval', true), ''), 'day') AS u) s`.execute(
        trx,
      );
      await sql
        .raw(
          `ALTER TABLE autonomous_tasks ADD CONSTRAINT ${RANGE_CHECK} CHECK (created_at < '${unit[0]!.cutoff.toISOString()}'::timestamptz) NOT VALID`,
        )
        .execute(trx);
    });
  }
  if (!rows[0]?.validated) {
    await sql.raw(`ALTER TABLE autonomous_tasks VALIDATE CONSTRAINT ${RANGE_CHECK}`).execute(db);
  }
  await buildUniqueIndex(db, 'autonomous_tasks_legacy_id_created', 'id, created_at');
  await buildUniqueIndex(db, 'autonomous_tasks_legacy_job_attempt', 'queue_name, job_id, attempt, created_at');
  return true;
}

/**
 * Creates the partitions of autonomous_tasks up to `premake` intervals ahead (migration 140's
 * autonomous_tasks_create_partitions); returns how many were created. Called by migrate and by
 * the scheduler's maintenance.
 */
export async function createAheadPartitions(db: AnyDb): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT autonomous_tasks_create_partitions() AS n`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
