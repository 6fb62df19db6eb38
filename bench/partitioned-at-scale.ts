/**
 * autonomous_tasks partitioned (migration 140) vs unpartitioned, same rows, same run.
 *
 * One database, migrated to the latest schema: `public.autonomous_tasks` is the partitioned table
 * with daily partitions over the whole window (the empty legacy partition a fresh migrate makes is
 * replaced by daily ones, as a database that has run partitioned for --days would have), and
 * `unpart.autonomous_tasks` is the table as it was before 140: the same columns, defaults, CHECKs,
 * foreign key, triggers and secondary indexes, with PRIMARY KEY (id) and UNIQUE (queue_name,
 * job_id, attempt), plus a copy of get_autonomous_task_summary whose search_path is `unpart`.
 * The partitioned side is filled by bench/queries/generate.ts; the unpartitioned one gets a copy
 * of the very same rows (INSERT ... SELECT per day, in time order), then its indexes.
 *
 * Then, for each side:
 *  - write path: --write-rows new attempts per round through the audit writer's upsert
 *    (@fleet/audit-writer UPSERT_SQL, batches of --batch), rounds alternating between the sides,
 *    median rows/s; WAL bytes from EXPLAIN (ANALYZE, WAL) of each statement;
 *  - every read of bench/queries/cases.ts (summary 24 h/7 d, dashboard, task list, getTask, ...):
 *    median of --runs after a warm-up, and the plan: partitions scanned, sequential scans;
 *  - retiring the oldest 30 days (retention --days → --days - 30): partitioned = the scheduler's
 *    data_cleanup's statements (autonomous_tasks_retire_partition for each retirable partition,
 *    then the batched DELETE of the partition holding the cutoff); unpartitioned = the cleanup
 *    before 140 (batched DELETE ... WHERE id IN (... LIMIT 10000)),
 *    then VACUUM on each side; seconds and WAL.
 *
 * WAL: the cluster is shared with other databases, so pg_current_wal_insert_lsn() differences
 * count their WAL too; per-statement WAL (EXPLAIN WAL, VACUUM VERBOSE) is reported where it exists
 * and the cluster-wide difference beside it, with the idle rate measured before the run.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npx tsx bench/partitioned-at-scale.ts [--rows 20000000] [--workspaces 1000] [--days 90] \
 *       [--runs 3] [--write-rows 200000] [--batch 500] [--rounds 3] [--plans /tmp/bench-partition-plans.md] [--keep]
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UPSERT_SQL } from '@fleet/audit-writer';
import { createDb, migrateToLatest } from '@fleet/db';
import { sql } from 'kysely';
import pg from 'pg';
import {
  BOUNDARY_DELETE,
  batchedDelete,
  describeCasePlan,
  explainWal,
  OLD_CLEANUP_DELETE,
  ROW_DELETES_FROM,
  type Side,
  unpartitionedDdl,
  writeBatch,
} from './partitioned/sides.ts';
import { captureCases, pickWorkspaces } from './queries/cases.ts';
import { generate } from './queries/generate.ts';
import { admin, adminUrl, machine, median, postgresInfo, redisUrl, round, sleep } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000000' },
    workspaces: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    runs: { type: 'string', default: '3' },
    'write-rows': { type: 'string', default: '200000' },
    batch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    plans: { type: 'string', default: '/tmp/bench-partition-plans.md' },
    keep: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const DAYS = Number(values.days);
const RUNS = Number(values.runs);
const WRITE_ROWS = Number(values['write-rows']);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const startMachine = machine();

const dbName = `fleet_bench_partitions_${randomUUID().slice(0, 8)}`;
const u = new URL(adminUrl);
u.pathname = `/${dbName}`;
const url = u.toString();
// The unpartitioned side: the same database, `unpart` first on the search_path.
const unpartUrl = `${url}?options=${encodeURIComponent('-c search_path=unpart,public')}`;
await admin(`CREATE DATABASE ${dbName}`);
const db = createDb(url, { max: 4 });
const udb = createDb(unpartUrl, { max: 4 });

async function client(side: Side): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: side === 'partitioned' ? url : unpartUrl });
  await c.connect();
  return c;
}

async function lsn(c: pg.Client): Promise<string> {
  return (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
}
async function walSince(c: pg.Client, from: string): Promise<number> {
  const r = await c.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)::bigint AS b', [
    from,
  ]);
  return Number(r.rows[0]!.b);
}

/** Bytes of WAL the cluster writes per second with this run idle (other databases' work). */
async function idleWalRate(): Promise<number> {
  const c = await client('partitioned');
  try {
    const from = await lsn(c);
    await sleep(10_000);
    return Math.round((await walSince(c, from)) / 10);
  } finally {
    await c.end();
  }
}

const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
};

try {
  const fill: Record<string, unknown> = {};
  await migrateToLatest(db);
  // A fresh migrate makes one legacy partition for everything before tomorrow; a table that has
  // been partitioned for the whole window has daily partitions instead.
  await sql`ALTER TABLE autonomous_tasks DETACH PARTITION autonomous_tasks_legacy`.execute(db);
  await sql`DROP TABLE autonomous_tasks_legacy`.execute(db);
  const made = await sql<{ n: number }>`
    SELECT autonomous_tasks_create_partitions(NULL, now() - ${DAYS + 1}::int * interval '1 day') AS n`.execute(db);
  log(`created ${made.rows[0]!.n} daily partitions`);
  await sql`UPDATE autonomous_tasks_partitioning SET legacy_until = now() - ${DAYS + 1}::int * interval '1 day'`.execute(
    db,
  );

  const [gen, genS] = await timed(() =>
    generate(db, { rows: ROWS, workspaces: Number(values.workspaces), days: DAYS }, log),
  );
  fill.partitioned = {
    seconds: round(genS),
    insertSeconds: round(gen.insertMs / 1000),
    indexesSeconds: round(gen.indexesMs / 1000),
    vacuumAnalyzeSeconds: round(gen.vacuumAnalyzeMs / 1000),
    ...(await partitionedSize()),
  };
  log(`partitioned side filled in ${round(genS)} s`);
  const invalid = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`.execute(db);
  if (invalid.rows[0]!.n > 0) throw new Error(`${invalid.rows[0]!.n} invalid indexes after the fill`);

  // The unpartitioned copy: table, then the same rows day by day, then indexes and triggers.
  const ddl = await unpartitionedDdl(db);
  const t0 = performance.now();
  await sql.raw(ddl.table).execute(db);
  const days = await sql<{ d: Date }>`
    SELECT generate_series(date_trunc('day', min(created_at)), max(created_at), interval '1 day') AS d
    FROM autonomous_tasks`.execute(db);
  for (const { d } of days.rows) {
    await sql`INSERT INTO unpart.autonomous_tasks SELECT * FROM public.autonomous_tasks
      WHERE created_at >= ${d}::timestamptz AND created_at < ${d}::timestamptz + interval '1 day'`.execute(db);
  }
  const copyS = (performance.now() - t0) / 1000;
  log(`copied ${ROWS} rows in ${round(copyS)} s`);
  const t1 = performance.now();
  await sql`SET maintenance_work_mem = '512MB'`.execute(db);
  for (const s of ddl.after) await sql.raw(s).execute(db);
  await sql`RESET maintenance_work_mem`.execute(db);
  const idxS = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await sql`VACUUM (ANALYZE) unpart.autonomous_tasks`.execute(db);
  const size = await sql<{ t: string; i: string }>`
    SELECT pg_table_size('unpart.autonomous_tasks') AS t, pg_indexes_size('unpart.autonomous_tasks') AS i`.execute(db);
  fill.unpartitioned = {
    seconds: round((performance.now() - t0) / 1000),
    copySeconds: round(copyS),
    indexesSeconds: round(idxS),
    vacuumAnalyzeSeconds: round((performance.now() - t2) / 1000),
    tableMiB: Math.round(Number(size.rows[0]!.t) / 2 ** 20),
    indexesMiB: Math.round(Number(size.rows[0]!.i) / 2 ** 20),
  };
  log(`unpartitioned side built: ${JSON.stringify(fill.unpartitioned)}`);
  await sql`ANALYZE autonomous_tasks`.execute(db);
  const partitionRows = new Map(
    (
      await sql<{ name: string; n: number }>`
        SELECT c.relname AS name, greatest(c.reltuples, 0)::float8 AS n
        FROM autonomous_tasks_partitions() p JOIN pg_class c ON c.relname = p.partition_name`.execute(db)
    ).rows.map((r) => [r.name, Number(r.n)]),
  );
  const partitions = partitionRows.size;
  const idleWalBytesPerSecond = await idleWalRate();
  log(`idle cluster WAL ${idleWalBytesPerSecond} B/s`);

  // Write path: rounds alternate between the sides, each side gets the same rows.
  const write: Record<Side, { rowsPerSecond: number[]; walBytesPerRow: number[] }> = {
    partitioned: { rowsPerSecond: [], walBytesPerRow: [] },
    unpartitioned: { rowsPerSecond: [], walBytesPerRow: [] },
  };
  const wsIds = (await sql<{ id: string }>`SELECT id FROM workspaces ORDER BY name LIMIT 200`.execute(db)).rows.map(
    (r) => r.id,
  );
  const upsertFor: Record<Side, string> = {
    partitioned: UPSERT_SQL,
    unpartitioned: UPSERT_SQL.replace(
      'ON CONFLICT (queue_name, job_id, attempt, created_at)',
      'ON CONFLICT (queue_name, job_id, attempt)',
    ),
  };
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const batches = Array.from({ length: Math.ceil(WRITE_ROWS / BATCH) }, () => writeBatch(BATCH, wsIds));
    for (const side of ['partitioned', 'unpartitioned'] as const) {
      const c = await client(side);
      try {
        let wal = 0;
        const t = performance.now();
        for (const b of batches) {
          const r = await c.query(`EXPLAIN (ANALYZE, WAL, TIMING OFF, FORMAT JSON) ${upsertFor[side]}`, b);
          wal += Number(r.rows[0]['QUERY PLAN'][0].Plan['WAL Bytes'] ?? 0);
        }
        const s = (performance.now() - t) / 1000;
        const n = batches.length * BATCH;
        write[side].rowsPerSecond.push(Math.round(n / s));
        write[side].walBytesPerRow.push(Math.round(wal / n));
        log(`write round ${round_ + 1} ${side}: ${Math.round(n / s)} rows/s, ${Math.round(wal / n)} WAL B/row`);
      } finally {
        await c.end();
      }
    }
  }
  await sql`ANALYZE autonomous_tasks`.execute(db);
  await sql`ANALYZE unpart.autonomous_tasks`.execute(db);

  // Reads: every case of bench/queries except its write, on both sides.
  const ws = await pickWorkspaces(db);
  const cases = (await captureCases(url, redisUrl, ws)).filter((c) => !c.write);
  const reads: Array<Record<string, unknown>> = [];
  const md: string[] = [`# Plans, partitioned vs unpartitioned, ${ROWS} rows (${new Date().toISOString()})`, ''];
  const cs = { partitioned: await client('partitioned'), unpartitioned: await client('unpartitioned') };
  const notices: Record<Side, string[]> = { partitioned: [], unpartitioned: [] };
  for (const side of ['partitioned', 'unpartitioned'] as const) {
    cs[side].on('notice', (n) => notices[side].push(n.message ?? ''));
    for (const s of [
      `LOAD 'auto_explain'`,
      'SET auto_explain.log_min_duration = -1',
      'SET auto_explain.log_analyze = on',
      'SET auto_explain.log_buffers = on',
      'SET auto_explain.log_nested_statements = on',
      'SET client_min_messages = log',
    ])
      await cs[side].query(s);
  }
  for (const c of cases) {
    const row: Record<string, unknown> = { caller: c.caller, name: c.name };
    for (const side of ['partitioned', 'unpartitioned'] as const) {
      const cl = cs[side];
      const times: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const t = performance.now();
        await cl.query(c.sql, c.params as unknown[]);
        if (i > 0) times.push(performance.now() - t);
      }
      let plan: string;
      if (c.viaFunction) {
        notices[side].length = 0;
        await cl.query('SET auto_explain.log_min_duration = 0');
        await cl.query(c.sql, c.params as unknown[]);
        await cl.query('SET auto_explain.log_min_duration = -1');
        plan = notices[side].find((n) => !n.includes('Function Scan')) ?? notices[side].join('\n');
      } else {
        const r = await cl.query(`EXPLAIN (ANALYZE, BUFFERS) ${c.sql}`, c.params as unknown[]);
        plan = r.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n');
      }
      row[side] = { medianMs: round(median(times), 2), ...describeCasePlan(plan, side, partitionRows) };
      md.push(`## ${c.caller} — ${c.name} — ${side}: median ${round(median(times), 2)} ms`, '', '```', plan, '```', '');
    }
    reads.push(row);
    log(`${c.caller} ${c.name}: ${JSON.stringify(row)}`);
  }
  await cs.partitioned.end();
  await cs.unpartitioned.end();
  writeFileSync(values.plans, md.join('\n'));

  // Retiring the oldest 30 days: retention DAYS -> DAYS - 30, with data_cleanup's statements
  // (agents/scheduler/src/cleanup.ts) run under EXPLAIN (ANALYZE, WAL) for their own WAL; the
  // cluster's LSN difference (other databases included) beside it.
  const cutoff = new Date(Date.now() - (DAYS - 30) * 86_400_000);
  const retire: Record<string, unknown> = {};
  {
    const c = await client('partitioned');
    const before = Number((await c.query('SELECT count(*) AS n FROM autonomous_tasks')).rows[0].n);
    const from = await lsn(c);
    const t = performance.now();
    const retirable = await c.query<{ partition_name: string }>(
      'SELECT partition_name FROM autonomous_tasks_retirable_partitions($1)',
      [cutoff],
    );
    let dropWal = 0;
    for (const { partition_name } of retirable.rows) {
      dropWal += (await explainWal(c, 'SELECT autonomous_tasks_retire_partition($1, $2)', [partition_name, cutoff]))
        .walBytes;
    }
    const dropS = (performance.now() - t) / 1000;
    const dropCluster = await walSince(c, from);
    const from2 = await lsn(c);
    const rowsFrom = (await c.query<{ from: string }>(ROW_DELETES_FROM, [cutoff])).rows[0]!.from;
    const [trim, trimS] = await timed(() => batchedDelete(c, BOUNDARY_DELETE, [cutoff, rowsFrom], 10_000));
    const trimCluster = await walSince(c, from2);
    const vac = await vacuumVerbose(c, 'autonomous_tasks');
    const after = Number((await c.query('SELECT count(*) AS n FROM autonomous_tasks')).rows[0].n);
    retire.partitioned = {
      rowsRetired: before - after,
      partitionsDropped:
        partitions - Number((await c.query('SELECT count(*) AS n FROM autonomous_tasks_partitions()')).rows[0].n),
      dropSeconds: round(dropS, 2),
      dropWalBytes: dropWal,
      dropClusterWalBytes: dropCluster,
      boundaryRowsDeleted: trim.deleted,
      boundarySeconds: round(trimS, 2),
      boundaryWalBytes: trim.walBytes,
      boundaryClusterWalBytes: trimCluster,
      vacuum: vac,
    };
    await c.end();
  }
  {
    const c = await client('unpartitioned');
    const before = Number((await c.query('SELECT count(*) AS n FROM autonomous_tasks')).rows[0].n);
    const from = await lsn(c);
    const [del, delS] = await timed(() => batchedDelete(c, OLD_CLEANUP_DELETE, [cutoff], 10_000));
    const delCluster = await walSince(c, from);
    const vac = await vacuumVerbose(c, 'autonomous_tasks');
    const after = Number((await c.query('SELECT count(*) AS n FROM autonomous_tasks')).rows[0].n);
    retire.unpartitioned = {
      rowsRetired: before - after,
      batches: del.batches,
      deleteSeconds: round(delS, 1),
      deleteWalBytes: del.walBytes,
      deleteClusterWalBytes: delCluster,
      vacuum: vac,
    };
    await c.end();
  }
  log(`retire: ${JSON.stringify(retire)}`);

  const summarise = (xs: { rowsPerSecond: number[]; walBytesPerRow: number[] }) => ({
    medianRowsPerSecond: median(xs.rowsPerSecond),
    medianWalBytesPerRow: median(xs.walBytesPerRow),
    rounds: xs,
  });
  console.log(
    JSON.stringify(
      {
        machine: { atStart: startMachine, atEnd: machine() },
        postgres: await postgresInfo(db),
        rows: ROWS,
        workspaces: Number(values.workspaces),
        days: DAYS,
        partitions,
        idleWalBytesPerSecond,
        fill,
        write: {
          rowsPerRound: Math.ceil(WRITE_ROWS / BATCH) * BATCH,
          batch: BATCH,
          partitioned: summarise(write.partitioned),
          unpartitioned: summarise(write.unpartitioned),
        },
        reads,
        retire: { cutoff: cutoff.toISOString(), ...retire },
      },
      null,
      1,
    ),
  );
} finally {
  await db.destroy();
  await udb.destroy();
  if (values.keep) log(`kept database ${dbName}`);
  else await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
process.exit(0);

/** Sizes summed over the partitions (pg_table_size of a partitioned table is 0). */
async function partitionedSize() {
  const r = await sql<{ t: string; i: string }>`
    SELECT sum(pg_table_size(relid)) AS t, sum(pg_indexes_size(relid)) AS i
    FROM pg_partition_tree('autonomous_tasks') WHERE isleaf`.execute(db);
  return {
    tableMiB: Math.round(Number(r.rows[0]!.t) / 2 ** 20),
    indexesMiB: Math.round(Number(r.rows[0]!.i) / 2 ** 20),
  };
}

/** VACUUM (VERBOSE) of one table on `c`: seconds and the WAL bytes it reports. */
async function vacuumVerbose(c: pg.Client, table: string) {
  const lines: string[] = [];
  const onNotice = (n: { message?: string }) => lines.push(n.message ?? '');
  c.on('notice', onNotice);
  const from = await lsn(c);
  const t = performance.now();
  await c.query(`VACUUM (VERBOSE) ${table}`);
  const seconds = round((performance.now() - t) / 1000, 1);
  const clusterWalBytes = await walSince(c, from);
  c.off('notice', onNotice);
  const walBytes = [...lines.join('\n').matchAll(/WAL usage: \d+ records, \d+ full page images, (\d+) bytes/g)].reduce(
    (s, m) => s + Number(m[1]),
    0,
  );
  return { seconds, walBytes, clusterWalBytes };
}
