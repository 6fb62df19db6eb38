/**
 * Helpers shared by the fleet benchmarks (latency, scale-out, queries at scale, memory): a
 * throwaway database per run, the machine description every result is reported with, and
 * order statistics.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, totalmem } from 'node:os';
import { createDb, migrateToLatest } from '@fleet/db';
import { sql } from 'kysely';
import pg from 'pg';

export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function admin(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  db: ReturnType<typeof createDb>;
  /** One workspace (with its organization) for jobs that need a workspace id. */
  workspaceId: string;
  drop(): Promise<void>;
}

/** Creates, migrates and seeds one workspace in a database of the run's own; drop() removes it. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `fleet_bench_${label}_${randomUUID().slice(0, 8)}`;
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = createDb(url, { max: 4 });
  await migrateToLatest(db);
  const ws = await sql<{ id: string }>`
    WITH o AS (INSERT INTO organizations (name) VALUES ('bench') RETURNING id)
    INSERT INTO workspaces (org_id, name) SELECT id, 'bench' FROM o RETURNING id`.execute(db);
  return {
    name,
    url,
    db,
    workspaceId: ws.rows[0]!.id,
    async drop() {
      await db.destroy().catch(() => {});
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A unique BullMQ key prefix (hash-tagged, as the fleet's are). */
export const benchPrefix = (label: string) => `{bench-${label}-${randomUUID().slice(0, 6)}}`;

/** What the numbers were measured on; the machine is shared, so load is part of the result. */
export function machine() {
  return {
    host: hostname(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    freeGiB: Number((freemem() / 2 ** 30).toFixed(1)),
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
  };
}

/** The Postgres server version and the settings that shape plans. */
export async function postgresInfo(db: ReturnType<typeof createDb>) {
  const r = await sql<{ name: string; setting: string }>`
    SELECT name, setting FROM pg_settings
    WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size',
                   'max_parallel_workers_per_gather', 'random_page_cost', 'jit')`.execute(db);
  return Object.fromEntries(r.rows.map((x) => [x.name, x.setting]));
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Nearest-rank percentile of an unsorted sample (p in 0..100). */
export function percentile(xs: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(xs).sort();
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (xs: ArrayLike<number>) => percentile(xs, 50);

export const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
