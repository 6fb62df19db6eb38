/**
 * The two sides of bench/partitioned-at-scale.ts: the unpartitioned copy of autonomous_tasks
 * (the table as before migration 140, built from the partitioned one's catalog), the cleanup it
 * had, the audit writer's rows and what a plan says about partitions.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';

export type Side = 'partitioned' | 'unpartitioned';

// biome-ignore lint/suspicious/noExplicitAny: works on any migrated fleet database
type Db = Kysely<any>;

/**
 * Statements that build `unpart.autonomous_tasks` like the table before 140: `table` creates it
 * (columns, defaults, NOT NULL and CHECK constraints) and the summary function's copy; `after`,
 * run once the rows are in, adds PRIMARY KEY (id), every secondary index of the partitioned table
 * (the job identity without created_at, as before 140), the foreign keys (NOT VALID: enforced
 * for new rows, the copied ones are the partitioned side's, already checked) and the triggers.
 * Row level security is left out: the benchmark connects as a superuser, which bypasses it.
 */
export async function unpartitionedDdl(db: Db): Promise<{ table: string; after: string[] }> {
  const onUnpart = (d: string) => d.replace(/ ON (ONLY )?(public\.)?autonomous_tasks /, ' ON unpart.autonomous_tasks ');
  const fn = await sql<{ d: string }>`
    SELECT pg_get_functiondef('public.get_autonomous_task_summary(uuid, text, integer)'::regprocedure) AS d`.execute(
    db,
  );
  const summary = fn.rows[0]!.d.replace(
    'FUNCTION public.get_autonomous_task_summary',
    'FUNCTION unpart.get_autonomous_task_summary',
  ).replace(/SET search_path TO [^\n]+/, `SET search_path TO 'unpart', 'public', 'pg_temp'`);
  const table = [
    'CREATE SCHEMA unpart',
    'CREATE TABLE unpart.autonomous_tasks (LIKE public.autonomous_tasks INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS)',
    summary,
  ].join(';\n');
  const indexes = await sql<{ d: string; name: string }>`
    SELECT c.relname AS name, pg_get_indexdef(x.indexrelid) AS d FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
    WHERE x.indrelid = 'public.autonomous_tasks'::regclass AND NOT x.indisprimary ORDER BY 1`.execute(db);
  const fks = await sql<{ name: string; d: string }>`
    SELECT conname AS name, pg_get_constraintdef(oid) AS d FROM pg_constraint
    WHERE conrelid = 'public.autonomous_tasks'::regclass AND contype = 'f'`.execute(db);
  const triggers = await sql<{ d: string }>`
    SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger
    WHERE tgrelid = 'public.autonomous_tasks'::regclass AND NOT tgisinternal`.execute(db);
  return {
    table,
    after: [
      'ALTER TABLE unpart.autonomous_tasks ADD PRIMARY KEY (id)',
      ...indexes.rows.map((i) =>
        onUnpart(i.name === 'uq_autonomous_tasks_job_attempt' ? i.d.replace(/, created_at\)/, ')') : i.d),
      ),
      ...fks.rows.map((f) => `ALTER TABLE unpart.autonomous_tasks ADD CONSTRAINT ${f.name} ${f.d} NOT VALID`),
      ...triggers.rows.map((t) => onUnpart(t.d)),
    ],
  };
}

/** Runs one statement under EXPLAIN (ANALYZE, WAL): the rows its plan's first input produced and its own WAL bytes. */
export async function explainWal(
  c: pg.Client,
  text: string,
  params: unknown[],
): Promise<{ rows: number; walBytes: number }> {
  const r = await c.query(`EXPLAIN (ANALYZE, WAL, TIMING OFF, FORMAT JSON) ${text}`, params);
  const plan = r.rows[0]['QUERY PLAN'][0].Plan;
  return {
    rows: Number(plan.Plans?.[0]?.['Actual Rows'] ?? plan['Actual Rows'] ?? 0),
    walBytes: Number(plan['WAL Bytes'] ?? 0),
  };
}

/**
 * The batched DELETE of data_cleanup: `text` deletes at most `batchSize` rows (its last
 * parameter), repeated until a batch comes back short. Each statement runs under EXPLAIN (ANALYZE,
 * WAL) so that its own WAL is counted: the cluster is shared.
 */
export async function batchedDelete(
  c: pg.Client,
  text: string,
  params: unknown[],
  batchSize: number,
): Promise<{ deleted: number; batches: number; walBytes: number }> {
  let deleted = 0;
  let batches = 0;
  let walBytes = 0;
  for (;;) {
    const r = await explainWal(c, text, [...params, batchSize]);
    walBytes += r.walBytes;
    if (r.rows === 0) break;
    deleted += r.rows;
    batches++;
    if (r.rows < batchSize) break;
  }
  return { deleted, batches, walBytes };
}

/**
 * data_cleanup before migration 140 (agents/scheduler/src/cleanup.ts at the parent of commit
 * 35b66f0): rows executed before the cutoff, by id.
 */
export const OLD_CLEANUP_DELETE = `DELETE FROM autonomous_tasks
  WHERE id IN (SELECT id FROM autonomous_tasks WHERE executed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/**
 * data_cleanup since 140 (cleanup.ts deleteOldTaskRows): after the whole partitions are dropped,
 * rows executed before the cutoff from the partition holding the cutoff on ($2, rowDeletesFrom).
 */
export const BOUNDARY_DELETE = `DELETE FROM autonomous_tasks
  WHERE (id, created_at) IN (
    SELECT id, created_at FROM autonomous_tasks
    WHERE executed_at < $1 AND created_at >= $2::timestamptz LIMIT $3 FOR UPDATE SKIP LOCKED)`;

/** cleanup.ts rowDeletesFrom: the start of the partition holding the cutoff. */
export const ROW_DELETES_FROM = `SELECT coalesce(
  (SELECT coalesce(lower_bound, '-infinity') FROM autonomous_tasks_partitions()
   WHERE NOT is_default AND coalesce(lower_bound, '-infinity') <= $1::timestamptz AND upper_bound > $1::timestamptz),
  $1::timestamptz)::text AS from`;

/** One batch of new finished attempts as the audit writer's upsert takes them (UPSERT_SQL's 16 arrays). */
export function writeBatch(n: number, workspaceIds: string[]): unknown[] {
  const now = Date.now();
  const cols: unknown[][] = Array.from({ length: 16 }, () => []);
  for (let i = 0; i < n; i++) {
    const created = now - Math.floor(Math.random() * 3_600_000);
    const ws = workspaceIds[Math.floor(Math.random() * workspaceIds.length)]!;
    const row = [
      randomUUID(),
      'email_integration_queue',
      randomUUID(),
      1,
      ws,
      'email_sync',
      'completed',
      JSON.stringify({ workspace_id: ws, triggered_by: 'cron' }),
      JSON.stringify({ items: i % 200, cost_usd: 0 }),
      null,
      new Date(created + 200).toISOString(),
      new Date(created + 1_700).toISOString(),
      'cron',
      'email-integration',
      '0',
      new Date(created).toISOString(),
    ];
    for (const [k, v] of row.entries()) cols[k]!.push(v);
  }
  return cols;
}

/** What one EXPLAIN ANALYZE (or auto_explain) plan read: partitions, sequential scans, time. */
export function describeCasePlan(plan: string, side: Side, partitionRows: Map<string, number>) {
  const partitionsTotal = partitionRows.size;
  const scanned = new Set<string>();
  let seqScans = 0;
  // Sequential scans of partitions holding rows (the planner seq-scans empty ones: free).
  let seqScansWithRows = 0;
  const indexes = new Set<string>();
  for (const line of plan.split('\n')) {
    if (line.includes('(never executed)')) continue;
    const m = /(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)(?: Backward)?(?: using (\w+))? on (\w+)/.exec(
      line,
    );
    if (!m) continue;
    if (m[2]) indexes.add(m[2].replace(/^autonomous_tasks_(p\d+|default)_/, ''));
    if (!m[3]!.startsWith('autonomous_tasks')) continue;
    scanned.add(m[3]!);
    if (m[1] === 'Seq Scan') {
      seqScans++;
      if ((partitionRows.get(m[3]!) ?? Number.POSITIVE_INFINITY) > 0) seqScansWithRows++;
    }
  }
  for (const m of plan.matchAll(/Bitmap Index Scan on (\w+)/g))
    indexes.add(m[1]!.replace(/^autonomous_tasks_(p\d+|default)_/, ''));
  const partitionNames = [...scanned].filter((t) => /^autonomous_tasks_(p\d+|default)$/.test(t));
  if (side === 'unpartitioned' && partitionNames.length > 0) {
    throw new Error(`the unpartitioned side's plan reads partitions (${partitionNames[0]}): search_path is wrong`);
  }
  const time = /Execution Time: ([\d.]+) ms/.exec(plan) ?? /duration: ([\d.]+) ms/.exec(plan);
  const removed = [...plan.matchAll(/Subplans Removed: (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  // An index walked end to end while a filter drops the rows reads the whole table too.
  const filtered = [...plan.matchAll(/Rows Removed by Filter: (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  const tableRows = [...partitionRows.values()].reduce((s, n) => s + n, 0);
  return {
    planMs: time ? Number(time[1]) : null,
    ...(side === 'partitioned'
      ? { partitionsScanned: partitionNames.length, partitionsTotal, subplansRemoved: removed }
      : {}),
    seqScans,
    seqScansWithRows,
    // A sequential scan of the table or of every partition holding rows, or filters that drop
    // half the table's rows.
    rowsRemovedByFilter: filtered,
    wholeTable:
      filtered >= tableRows / 2 ||
      (side === 'unpartitioned'
        ? seqScans > 0
        : seqScansWithRows > 0 && seqScansWithRows >= [...partitionRows.values()].filter((n) => n > 0).length),
    indexes: [...indexes].slice(0, 4),
  };
}
