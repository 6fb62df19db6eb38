/**
 * Read queries at scale: autonomous_tasks filled with 5,000,000 rows over 1,000 workspaces and
 * 90 days (bench/queries/generate.ts), then every read the fleet runs on it
 * (bench/queries/cases.ts): get_autonomous_task_summary for 24 h and 7 days, the control
 * plane's dashboard statements, the task list pages, the CLI status summary, the scheduler's
 * stuck-running check, the budget query and the seed document's two queries.
 *
 * For each statement: the median of --runs timed executions (after one warm-up) and one
 * EXPLAIN (ANALYZE, BUFFERS); for the plpgsql function the plan of the statement inside it,
 * caught with auto_explain in the same session after the timed calls (so it is the plan the
 * session's plan cache really uses). Plans that read the whole table are flagged: a sequential
 * scan, or an index walked end to end while its filter drops most of the table.
 *
 * Before/after: the statements are measured twice, "current" (every migration) and "before"
 * (the indexes that migrations 095-099 create are dropped and the ones they drop are recreated,
 * i.e. the schema as of migration 094). Each variant runs in one transaction that is rolled
 * back, which also removes the rows of the write-path case (10,000 inserted rows: what the
 * indexes cost the audit writer).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npx tsx bench/queries-at-scale.ts [--rows 5000000] [--workspaces 1000] [--days 90] [--runs 5] \
 *       [--plans /tmp/bench-query-plans.md] [--keep] [--reuse <database>]
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDb, DEFAULT_MIGRATIONS_DIR, migrateToLatest } from '@fleet/db';
import { sql } from 'kysely';
import pg from 'pg';
import { captureCases, pickWorkspaces, type QueryCase } from './queries/cases.ts';
import { generate } from './queries/generate.ts';
import { admin, adminUrl, machine, median, postgresInfo, redisUrl, round } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    workspaces: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    runs: { type: 'string', default: '5' },
    plans: { type: 'string', default: '/tmp/bench-query-plans.md' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const startMachine = machine();

const dbName = values.reuse ?? `fleet_bench_queries_${randomUUID().slice(0, 8)}`;
const u = new URL(adminUrl);
u.pathname = `/${dbName}`;
const url = u.toString();
if (!values.reuse) await admin(`CREATE DATABASE ${dbName}`);
const db = createDb(url, { max: 4 });

/** Rows of autonomous_tasks (planner estimate), to tell a whole-table read. */
let tableRows = Number.POSITIVE_INFINITY;

interface Measured {
  caller: string;
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Time reported by the plan (EXPLAIN ANALYZE's Execution Time or auto_explain's duration). */
  planMs: number | null;
  seqScan: boolean;
  wholeTable: boolean;
  rowsRemovedByFilter: number;
  indexes: string[];
  buffers: string | null;
  plan: string;
}

/** Indexes that migrations 095-099 create and drop (the "before" variant undoes both). */
function rangeIndexChanges() {
  const files = readdirSync(DEFAULT_MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const created: string[] = [];
  const dropped: string[] = [];
  const definitions = new Map<string, string>();
  for (const f of files) {
    const text = readFileSync(`${DEFAULT_MIGRATIONS_DIR}/${f}`, 'utf8').replace(/--.*$/gm, '');
    const inRange = Number(f.slice(0, 3)) >= 95 && Number(f.slice(0, 3)) <= 99;
    for (const m of text.matchAll(
      /CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF NOT EXISTS\s+)?(\w+)[^;]*;/gi,
    )) {
      if (inRange) created.push(m[1]!);
      else definitions.set(m[1]!, m[0].replace(/CONCURRENTLY\s+/i, ''));
    }
    if (inRange) {
      for (const m of text.matchAll(/DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF EXISTS\s+)?(\w+)/gi)) dropped.push(m[1]!);
    }
  }
  const restore = dropped.filter((d) => !created.includes(d)).map((d) => definitions.get(d)!);
  return { created: created.filter((c) => !dropped.includes(c) || restore.length === 0), restore };
}

function describePlan(plan: string) {
  const indexes = new Set<string>();
  for (const m of plan.matchAll(/(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)/g)) {
    indexes.add(m[1]!);
  }
  const time = /Execution Time: ([\d.]+) ms/.exec(plan) ?? /duration: ([\d.]+) ms/.exec(plan);
  const removed = Math.max(0, ...[...plan.matchAll(/Rows Removed by Filter: (\d+)/g)].map((m) => Number(m[1])));
  const seqScan = /Seq Scan on autonomous_tasks/.test(plan);
  return {
    seqScan,
    // A sequential scan, or an index walked end to end while a filter throws the rows away.
    wholeTable: seqScan || removed >= tableRows / 2,
    rowsRemovedByFilter: removed,
    indexes: [...indexes],
    planMs: time ? Number(time[1]) : null,
    buffers: /Buffers: ([^\n]+)/.exec(plan)?.[1]?.trim() ?? null,
  };
}

async function measure(client: pg.Client, c: QueryCase, notices: string[]): Promise<Measured> {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t = performance.now();
    await client.query(c.sql, c.params as unknown[]);
    if (i > 0) times.push(performance.now() - t);
  }
  let plan: string;
  if (c.viaFunction) {
    notices.length = 0;
    await client.query(`SET auto_explain.log_min_duration = 0`);
    await client.query(c.sql, c.params as unknown[]);
    await client.query(`SET auto_explain.log_min_duration = -1`);
    // The nested statement's plan (the top-level one is a Function Scan).
    plan = notices.find((n) => !n.includes('Function Scan')) ?? notices.join('\n');
  } else {
    const r = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${c.sql}`, c.params as unknown[]);
    plan = r.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n');
  }
  return {
    caller: c.caller,
    name: c.name,
    medianMs: round(median(times), 2),
    minMs: round(Math.min(...times), 2),
    maxMs: round(Math.max(...times), 2),
    ...describePlan(plan),
    plan,
  };
}

async function measureAll(cases: QueryCase[], setup: string[]): Promise<Measured[]> {
  const client = new pg.Client({ connectionString: url });
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  await client.connect();
  try {
    await client.query(`LOAD 'auto_explain'`);
    await client.query(`SET auto_explain.log_min_duration = -1`);
    await client.query(`SET auto_explain.log_analyze = on`);
    await client.query(`SET auto_explain.log_buffers = on`);
    await client.query(`SET auto_explain.log_nested_statements = on`);
    await client.query(`SET client_min_messages = log`);
    // Every variant runs in a transaction that is rolled back: the "before" variant's index
    // changes and the write-path rows disappear with it.
    await client.query('BEGIN');
    for (const s of setup) {
      log(s);
      await client.query(s);
    }
    const out: Measured[] = [];
    for (const c of cases) {
      out.push(await measure(client, c, notices));
      const m = out.at(-1)!;
      log(`${m.caller} ${m.name}: ${m.medianMs} ms${m.wholeTable ? ' (WHOLE TABLE)' : ''} ${m.indexes.join(',')}`);
    }
    await client.query('ROLLBACK');
    return out;
  } finally {
    await client.end();
  }
}

try {
  let generation: Awaited<ReturnType<typeof generate>> | null = null;
  const genStart = performance.now();
  if (!values.reuse) {
    await migrateToLatest(db);
    generation = await generate(
      db,
      { rows: Number(values.rows), workspaces: Number(values.workspaces), days: Number(values.days) },
      log,
    );
    log(`generated in ${round((performance.now() - genStart) / 1000)} s`);
  }
  const generationSeconds = round((performance.now() - genStart) / 1000);
  const ws = await pickWorkspaces(db);
  tableRows = Number(
    (
      await sql<{
        n: number;
      }>`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'autonomous_tasks'::regclass`.execute(db)
    ).rows[0]!.n,
  );
  // Writes last: their rows stay visible to later statements of the same transaction.
  const cases = (await captureCases(url, redisUrl, ws)).sort(
    (a, b) => Number(a.write ?? false) - Number(b.write ?? false),
  );
  const changes = rangeIndexChanges();
  const current = await measureAll(cases, []);
  const beforeSetup = [...changes.created.map((n) => `DROP INDEX ${n}`), ...changes.restore];
  const before = beforeSetup.length ? await measureAll(cases, beforeSetup) : null;

  const md: string[] = [`# Query plans at ${values.rows} rows (${new Date().toISOString()})`, ''];
  for (const [label, set] of [
    ['current schema', current],
    ['before migrations 095-099', before],
  ] as const) {
    if (!set) continue;
    md.push(`## ${label}`, '');
    for (const m of set) {
      md.push(`### ${m.caller} — ${m.name}: median ${m.medianMs} ms${m.wholeTable ? ' — WHOLE TABLE' : ''}`, '');
      md.push('```', m.plan, '```', '');
    }
  }
  writeFileSync(values.plans, md.join('\n'));
  const pgInfo = await postgresInfo(db);
  console.log(
    JSON.stringify(
      {
        machine: { atStart: startMachine, atEnd: machine() },
        postgres: pgInfo,
        rows: Number(values.rows),
        workspaces: Number(values.workspaces),
        days: Number(values.days),
        generation: generation && {
          totalSeconds: generationSeconds,
          insertSeconds: round(generation.insertMs / 1000),
          indexesSeconds: round(generation.indexesMs / 1000),
          vacuumAnalyzeSeconds: round(generation.vacuumAnalyzeMs / 1000),
          tableMiB: generation.tableMiB,
          indexesMiB: generation.indexesMiB,
        },
        workspacesPicked: ws,
        beforeVariant: beforeSetup,
        results: current.map((m, i) => ({
          caller: m.caller,
          name: m.name,
          medianMs: m.medianMs,
          minMs: m.minMs,
          maxMs: m.maxMs,
          seqScan: m.seqScan,
          wholeTable: m.wholeTable,
          indexes: m.indexes,
          buffers: m.buffers,
          ...(before
            ? {
                beforeMedianMs: before[i]!.medianMs,
                beforeSeqScan: before[i]!.seqScan,
                beforeWholeTable: before[i]!.wholeTable,
                beforeIndexes: before[i]!.indexes,
              }
            : {}),
        })),
        plans: values.plans,
      },
      null,
      1,
    ),
  );
} finally {
  await db.destroy();
  if (values.keep) log(`kept database ${dbName}`);
  else await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
process.exit(0);
