/**
 * The audit write path in Postgres alone, without BullMQ, in two parts (alternating rounds,
 * medians):
 *
 *  1. Statement form: the writer's multi-row upsert sent through Kysely (parsed and planned for
 *     every batch) against the same text as a named prepared statement on the pg pool (what the
 *     audit writer sends), at group-commit batch sizes; one commit per statement, as the writer
 *     does. Rows/s, Node CPU and Postgres backend CPU per row.
 *  2. Write cost of each index (and of the workspace foreign key and the row triggers): the same
 *     batches inside a transaction that first drops that one index and is rolled back, against
 *     the table as migrated. WAL bytes per row come from EXPLAIN (ANALYZE, WAL) of each statement,
 *     which counts this backend's WAL only (pg_current_wal_lsn() differences would also count
 *     every other database on a shared server); Postgres CPU per row from /proc/<backend>/stat.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/audit-write-path.ts \
 *     [--rows 10000] [--batches 20,250] [--index-batch 250] [--rounds 3] [--parts forms,indexes]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type RowState, UPSERT_SQL, upsertParams, upsertRows } from '@fleet/audit-writer';
import { createDb, createPool, type Database } from '@fleet/db';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { processCpuMs } from './cpu-sampler.ts';
import { createBenchDatabase, machine, median } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    batches: { type: 'string', default: '20,250' },
    'index-batch': { type: 'string', default: '250' },
    rounds: { type: 'string', default: '3' },
    parts: { type: 'string', default: 'forms,indexes' },
  },
});
const ROWS = Number(values.rows);
const BATCHES = values.batches.split(',').map(Number);
const INDEX_BATCH = Number(values['index-batch']);
const ROUNDS = Number(values.rounds);
const PARTS = values.parts.split(',');

const atStart = machine();
const bench = await createBenchDatabase('write_path');
const ws = bench.workspaceId;

/** A finished no-op-ish attempt, as the writer sends it (running merged into the terminal row). */
function rows(n: number): RowState[] {
  const now = new Date();
  return Array.from({ length: n }, (_, i) => ({
    key: { queueName: 'maintenance_queue', jobId: randomUUID(), attempt: 1 },
    status: i % 20 === 0 ? ('failed' as const) : ('completed' as const),
    workspaceId: ws,
    taskType: 'system_health_check' as const,
    agentName: 'bench',
    triggeredBy: 'api',
    inputData: `{"workspace_id":"${ws}"}`,
    outputData: '{"checks":{"postgres":"ok","redis":"ok"},"queues_checked":6}',
    errorMessage: i % 20 === 0 ? 'boom' : null,
    executedAt: now,
    createdAt: now,
    completedAt: new Date(now.getTime() + 3),
    costUsd: '0.000000',
  }));
}

const batchesOf = (all: RowState[], size: number) =>
  Array.from({ length: Math.ceil(all.length / size) }, (_, i) => all.slice(i * size, (i + 1) * size));

async function backendPid(db: Kysely<Database>): Promise<number> {
  const r = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db);
  return r.rows[0]!.pid;
}

interface Cost {
  rowsPerSec: number;
  nodeUsPerRow: number;
  pgUsPerRow: number;
  walBytesPerRow?: number;
  fullPagesPer1000Rows?: number;
}

// ---- 1. statement form ------------------------------------------------------------------------
const forms = {
  // Not made by createDb: upsertRows sends the text through Kysely, unprepared.
  kysely: new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(bench.url, { max: 1 }) }) }),
  prepared: createDb(bench.url, { max: 1 }),
};

async function formRound(db: Kysely<Database>, batch: number): Promise<Cost> {
  const pid = await backendPid(db);
  const batches = batchesOf(rows(ROWS), batch);
  const pg0 = processCpuMs(pid)!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of batches) await upsertRows(db, b);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if ((await backendPid(db)) !== pid) throw new Error('the pool changed connections during the round');
  return {
    rowsPerSec: Math.round(ROWS / seconds),
    nodeUsPerRow: Number(((cpu.user + cpu.system) / ROWS).toFixed(1)),
    pgUsPerRow: Number((((processCpuMs(pid)! - pg0) * 1000) / ROWS).toFixed(1)),
  };
}

// ---- 2. write cost per index ------------------------------------------------------------------
const client = new pg.Client({ connectionString: bench.url });
await client.connect();
const indexNames = (
  await client.query<{ indexname: string }>(
    `SELECT indexname FROM pg_indexes WHERE tablename = 'autonomous_tasks'
       AND indexname NOT IN ('autonomous_tasks_pkey', 'uq_autonomous_tasks_job_attempt') ORDER BY indexname`,
  )
).rows.map((r) => r.indexname);
const ginPartitions = (
  await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = 'idx_autonomous_tasks_output_data'::regclass`,
  )
).rows.map((r) => r.name);
const variants: Record<string, string[]> = {
  'as migrated': [],
  ...Object.fromEntries(indexNames.map((i) => [`without ${i}`, [`DROP INDEX ${i}`]])),
  // The seed's form of the GIN index (jsonb_ops: an entry per key and per value) for comparison.
  'output_data GIN as jsonb_ops (the seed)': [
    'DROP INDEX idx_autonomous_tasks_output_data',
    'CREATE INDEX idx_autonomous_tasks_output_data ON autonomous_tasks USING GIN (output_data)',
  ],
  // GIN's pending list (fastupdate, the default) defers the tree insert to VACUUM or to the write
  // that fills the list; without it every row goes into the tree at once.
  // autonomous_tasks is partitioned: storage parameters are set on each partition's index.
  'output_data GIN with fastupdate off': ginPartitions.map((i) => `ALTER INDEX ${i} SET (fastupdate = off)`),
  'without the workspace FK': ['ALTER TABLE autonomous_tasks DROP CONSTRAINT autonomous_tasks_workspace_id_fkey'],
  'without the row triggers': [
    'ALTER TABLE autonomous_tasks DISABLE TRIGGER trigger_calculate_duration',
    'ALTER TABLE autonomous_tasks DISABLE TRIGGER trigger_autonomous_tasks_updated_at',
  ],
  'pkey + unique index only': indexNames.map((i) => `DROP INDEX ${i}`),
};

async function variantRound(ddl: string[]): Promise<Cost> {
  const { rows: r } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = r[0]!.pid;
  const batches = batchesOf(rows(ROWS), INDEX_BATCH);
  await client.query('BEGIN');
  try {
    for (const statement of ddl) await client.query(statement);
    // A warm-up pass first: the first change of a page after a checkpoint logs the whole page,
    // and checkpoints come every few seconds on a shared server. After it, the measured pass
    // mostly logs the index and heap records themselves; its full-page images are reported.
    for (const b of batchesOf(rows(ROWS / 2), INDEX_BATCH)) await client.query(UPSERT_SQL, upsertParams(b));
    let wal = 0;
    let fpi = 0;
    const pg0 = processCpuMs(pid)!;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of batches) {
      const res = await client.query<{ 'QUERY PLAN': Array<{ Plan: { 'WAL Bytes': number; 'WAL FPI': number } }> }>(
        `EXPLAIN (ANALYZE, WAL, TIMING OFF, SUMMARY OFF, FORMAT JSON) ${UPSERT_SQL}`,
        upsertParams(b),
      );
      const plan = res.rows[0]!['QUERY PLAN'][0]!.Plan;
      wal += plan['WAL Bytes'];
      fpi += plan['WAL FPI'];
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      rowsPerSec: Math.round(ROWS / seconds),
      nodeUsPerRow: Number(((cpu.user + cpu.system) / ROWS).toFixed(1)),
      pgUsPerRow: Number((((processCpuMs(pid)! - pg0) * 1000) / ROWS).toFixed(1)),
      walBytesPerRow: Math.round(wal / ROWS),
      fullPagesPer1000Rows: Math.round((fpi * 1000) / ROWS),
    };
  } finally {
    await client.query('ROLLBACK');
  }
}

// ---- run --------------------------------------------------------------------------------------
const formResults = new Map<string, Cost[]>();
const variantResults = new Map<string, Cost[]>();
const push = (m: Map<string, Cost[]>, k: string, c: Cost) => m.set(k, [...(m.get(k) ?? []), c]);
try {
  // Fill first, so every measured statement meets indexes of a realistic (non-empty) table.
  await upsertRows(forms.prepared, rows(20_000));
  console.error(`load average at start: ${atStart.loadavg.join(' ')}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const flip = round % 2 === 0;
    if (PARTS.includes('forms')) {
      for (const batch of BATCHES) {
        for (const form of flip ? (['prepared', 'kysely'] as const) : (['kysely', 'prepared'] as const)) {
          const c = await formRound(forms[form], batch);
          push(formResults, `${form} batch ${batch}`, c);
          console.error(`round ${round} ${form} batch ${batch}: ${JSON.stringify(c)}`);
        }
      }
    }
    if (PARTS.includes('indexes')) {
      const names = Object.keys(variants);
      for (const name of flip ? names.reverse() : names) {
        const c = await variantRound(variants[name]!);
        push(variantResults, name, c);
        console.error(`round ${round} ${name}: ${JSON.stringify(c)}`);
      }
    }
  }
  const summarise = (cs: Cost[]) => ({
    rowsPerSec: median(cs.map((c) => c.rowsPerSec)),
    nodeUsPerRow: median(cs.map((c) => c.nodeUsPerRow)),
    pgUsPerRow: median(cs.map((c) => c.pgUsPerRow)),
    ...(cs[0]!.walBytesPerRow === undefined
      ? {}
      : {
          walBytesPerRow: median(cs.map((c) => c.walBytesPerRow!)),
          fullPagesPer1000Rows: median(cs.map((c) => c.fullPagesPer1000Rows!)),
        }),
  });
  const migrated = variantResults.has('as migrated') ? summarise(variantResults.get('as migrated')!) : undefined;
  console.log(
    JSON.stringify(
      {
        rows: ROWS,
        rounds: ROUNDS,
        forms: Object.fromEntries([...formResults].map(([k, cs]) => [k, summarise(cs)])),
        indexBatch: INDEX_BATCH,
        variants: Object.fromEntries(
          [...variantResults].map(([k, cs]) => {
            const s = summarise(cs);
            // What the dropped object costs per row: the table as migrated minus this variant.
            const saves = migrated
              ? {
                  walBytesPerRowSaved: migrated.walBytesPerRow! - s.walBytesPerRow!,
                  pgUsPerRowSaved: Number((migrated.pgUsPerRow - s.pgUsPerRow).toFixed(1)),
                }
              : {};
            return [k, { ...s, ...saves }];
          }),
        ),
        machine: { atStart, atEnd: machine() },
      },
      null,
      1,
    ),
  );
} finally {
  await client.end();
  await forms.kysely.destroy();
  await forms.prepared.destroy();
  await bench.drop();
}
