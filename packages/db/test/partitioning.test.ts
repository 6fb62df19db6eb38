/**
 * autonomous_tasks partitioned by created_at (migration 140, docs/partitioning.md): one row per
 * attempt across a partition boundary, row level security across partitions, and the conversion
 * of a populated unpartitioned table while writers keep writing.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditWriter, type TaskStart } from '@fleet/audit-writer';
import { createEmptyDatabase, createTestDatabase, type TestDatabase, waitFor } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database, DEFAULT_MIGRATIONS_DIR, migrateToLatest, preparePartitioning } from '../src/index.ts';
import { createOrg, createUser, errorOf } from './helpers.ts';
import { ensureTesterRole, TESTER } from './tester-role.ts';

interface Partition {
  partition_name: string;
  lower_bound: Date | null;
  upper_bound: Date | null;
  is_default: boolean;
}

async function partitions(db: Kysely<Database>): Promise<Partition[]> {
  const { rows } = await sql<Partition>`SELECT * FROM autonomous_tasks_partitions()`.execute(db);
  return rows;
}

/** The partition each row of `ids` is stored in, by id. */
async function partitionOf(db: Kysely<Database>, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await sql<{ id: string; part: string }>`
    SELECT id, tableoid::regclass::text AS part FROM autonomous_tasks WHERE id = ANY(${ids}::uuid[])`.execute(db);
  return new Map(rows.map((r) => [r.id, r.part]));
}

describe('a partitioned autonomous_tasks', () => {
  let t: TestDatabase;
  let wsA: string;
  let wsB: string;
  let userA: string;
  let parts: Partition[];
  /** The boundary between the first two partitions after autonomous_tasks_legacy. */
  let boundary: Date;

  beforeAll(async () => {
    t = await createTestDatabase('partitions');
    const a = await createOrg(t.db, 'Org A');
    const b = await createOrg(t.db, 'Org B');
    wsA = a.workspaceIds[0]!;
    wsB = b.workspaceIds[0]!;
    userA = await createUser(t.db, [a.orgId]);
    parts = await partitions(t.db);
    boundary = parts.filter((p) => p.lower_bound !== null && !p.is_default)[0]!.upper_bound!;
  });
  afterAll(() => t?.drop());

  it('has the legacy table, partitions ahead and a default partition', () => {
    expect(parts[0]).toMatchObject({ partition_name: 'autonomous_tasks_legacy', lower_bound: null });
    expect(parts.at(-1)).toMatchObject({ partition_name: 'autonomous_tasks_default', is_default: true });
    const ahead = parts.filter((p) => p.lower_bound !== null && !p.is_default);
    // Days ahead of now (premake 7), each partition starting where the previous one ends.
    expect(ahead.at(-1)!.upper_bound!.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    for (let i = 1; i < ahead.length; i++) expect(ahead[i]!.lower_bound).toEqual(ahead[i - 1]!.upper_bound);
    expect(ahead[0]!.lower_bound).toEqual(parts[0]!.upper_bound);
  });

  it('keeps one row for an attempt that starts just before a partition boundary and ends after it', async () => {
    const logger = createAuditWriter({ db: t.db, runningDelayMs: 0 });
    const queuedAt = new Date(boundary.getTime() - 1);
    const start: TaskStart = {
      queueName: 'analytics_queue',
      jobId: randomUUID(),
      attempt: 1,
      workspaceId: wsA,
      taskType: 'daily_analytics_rollup',
      agentName: 'analytics',
      triggeredBy: 'api',
      inputData: { workspace_id: wsA },
      executedAt: queuedAt,
      jobCreatedAt: queuedAt,
    };
    const startedAt = new Date(boundary.getTime() + 2_000);
    await logger.pending(start);
    logger.running({ ...start, executedAt: startedAt });
    await logger.flush();
    await logger.finish(
      { ...start, executedAt: startedAt },
      { status: 'completed', completedAt: new Date(startedAt.getTime() + 8_000) },
    );
    // A replayed pending write (a producer retrying after a lost reply) changes nothing.
    await logger.pending(start);
    await logger.close();

    const { rows } = await sql<{
      part: string;
      status: string;
      created_at: Date;
      executed_at: Date;
      duration_ms: number;
    }>`
      SELECT tableoid::regclass::text AS part, status, created_at, executed_at, duration_ms
      FROM autonomous_tasks WHERE job_id = ${start.jobId}`.execute(t.db);
    const before = parts.find((p) => p.upper_bound?.getTime() === boundary.getTime())!.partition_name;
    expect(rows).toEqual([
      { part: before, status: 'completed', created_at: queuedAt, executed_at: startedAt, duration_ms: 8000 },
    ]);
  });

  it('applies row level security to the rows of every partition, and only through the parent', async () => {
    const at = (ms: number) => new Date(ms);
    const now = Date.now();
    // One row per workspace in the legacy table, on each side of the boundary, and in the default
    // partition (a created_at beyond every partition).
    const created = [at(now - 3_600_000), at(boundary.getTime() - 60_000), at(boundary.getTime() + 60_000)];
    created.push(new Date('2199-01-01T00:00:00Z'));
    const ids: string[] = [];
    for (const ws of [wsA, wsB]) {
      for (const created_at of created) {
        const row = await t.db
          .insertInto('autonomous_tasks')
          .values({
            workspace_id: ws,
            task_type: 'email_sync',
            status: 'completed',
            created_at,
            executed_at: at(now - 600_000),
            completed_at: at(now - 599_000),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        ids.push(row.id);
      }
    }
    const where = await partitionOf(t.db, ids);
    expect(new Set(where.values()).size).toBe(4);
    expect([...where.values()]).toContain('autonomous_tasks_default');

    await ensureTesterRole(t.adminUrl, t.name);
    const url = new URL(t.url);
    url.username = TESTER;
    url.password = '';
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE authenticated');
      await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({ sub: userA, role: 'authenticated' }),
      ]);
      const seen = await client.query<{ workspace_id: string; part: string }>(
        `SELECT workspace_id, tableoid::regclass::text AS part FROM autonomous_tasks WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      expect(seen.rows.map((r) => r.workspace_id)).toEqual([wsA, wsA, wsA, wsA]);
      expect(new Set(seen.rows.map((r) => r.part)).size).toBe(4);
      const summary = await client.query(`SELECT * FROM get_autonomous_task_summary($1::uuid, NULL, 24)`, [wsB]);
      expect(summary.rows).toEqual([]);
      const mine = await client.query(`SELECT * FROM get_autonomous_task_summary($1::uuid, 'email_sync', 24)`, [wsA]);
      expect(mine.rows).toMatchObject([{ task_type: 'email_sync', total_executions: '4' }]); // pg.Client: int8 as text
      await client.query('SAVEPOINT direct');
      // A partition read directly skips the parent's policies, so API roles cannot read one.
      const partition = [...where.values()].find((p) => p.startsWith('autonomous_tasks_p'));
      const direct = await errorOf(client.query(`SELECT count(*) FROM ${partition}`));
      expect(direct.code).toBe('42501');
      await client.query('ROLLBACK TO SAVEPOINT direct');
      await client.query('ROLLBACK');

      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE fleet_agent');
      const agent = await client.query(`SELECT count(*)::int AS n FROM autonomous_tasks WHERE id = ANY($1::uuid[])`, [
        ids,
      ]);
      expect(agent.rows).toEqual([{ n: 8 }]);
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });
});

describe('migration 140 on a populated table', () => {
  let url: string;
  let drop: () => Promise<void>;
  let oldDir: string;
  let db: Kysely<Database>;

  beforeAll(async () => {
    const empty = await createEmptyDatabase('part_mig');
    url = empty.url;
    drop = empty.drop;
    // The schema as it was before 140: the migrations up to 126 only.
    oldDir = await mkdtemp(join(tmpdir(), 'fleet-mig-'));
    for (const f of await readdir(DEFAULT_MIGRATIONS_DIR)) {
      if (f.endsWith('.sql') && Number(f.slice(0, 3)) <= 126) {
        await copyFile(join(DEFAULT_MIGRATIONS_DIR, f), join(oldDir, f));
      }
    }
    db = createDb(url, { max: 4 });
    await migrateToLatest(db, { dir: oldDir });
  });
  afterAll(async () => {
    await db?.destroy();
    await drop?.();
    if (oldDir) await rm(oldDir, { recursive: true, force: true });
  });

  it('keeps every row and id, and writers keep writing through the switch', async () => {
    const { rows: kind } = await sql<{ relkind: string }>`
      SELECT relkind FROM pg_class WHERE relname = 'autonomous_tasks'`.execute(db);
    expect(kind).toEqual([{ relkind: 'r' }]);
    const { id: orgId } = await db
      .insertInto('organizations')
      .values({ name: 'o' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: ws } = await db
      .insertInto('workspaces')
      .values({ org_id: orgId, name: 'w' })
      .returning('id')
      .executeTakeFirstOrThrow();
    // 20,000 rows over the last 90 days, half with a job identity.
    await sql`
      INSERT INTO autonomous_tasks (workspace_id, task_type, status, executed_at, completed_at, created_at,
                                    queue_name, job_id, attempt)
      SELECT ${ws}::uuid, 'email_sync', 'completed',
             now() - make_interval(secs => i * 389), now() - make_interval(secs => i * 389 - 2),
             now() - make_interval(secs => i * 389),
             CASE WHEN i % 2 = 0 THEN 'email_queue' END, CASE WHEN i % 2 = 0 THEN 'old-' || i END,
             CASE WHEN i % 2 = 0 THEN 1 END
      FROM generate_series(1, 20000) i`.execute(db);
    const { rows: before } = await sql<{ id: string; created_at: Date }>`
      SELECT id, created_at FROM autonomous_tasks ORDER BY id`.execute(db);
    expect(before).toHaveLength(20_000);

    // Writer 1: hand-written INSERTs (no ON CONFLICT), running before, during and after the switch.
    const writerDb = createDb(url, { max: 2 });
    const inserted: string[] = [];
    const errors: unknown[] = [];
    let stop = false;
    const plain = (async () => {
      while (!stop) {
        try {
          const r = await writerDb
            .insertInto('autonomous_tasks')
            .values({ workspace_id: ws, task_type: 'system_health_check', status: 'completed' })
            .returning('id')
            .executeTakeFirstOrThrow();
          inserted.push(r.id);
        } catch (error) {
          errors.push(error);
        }
      }
    })();

    // The runner's online step, then writer 2: the audit writer of this release.
    await preparePartitioning(db);
    const logger = createAuditWriter({ db: writerDb, runningDelayMs: 0 });
    const attempts: string[] = [];
    const audited = (async () => {
      while (!stop) {
        const now = new Date();
        const start: TaskStart = {
          queueName: 'analytics_queue',
          jobId: randomUUID(),
          attempt: 1,
          workspaceId: ws,
          taskType: 'daily_analytics_rollup',
          agentName: 'analytics',
          triggeredBy: 'api',
          inputData: {},
          executedAt: now,
          jobCreatedAt: now,
        };
        try {
          await logger.pending(start);
          await logger.finish(start, { status: 'completed' });
          attempts.push(start.jobId);
        } catch (error) {
          errors.push(error);
        }
      }
    })();
    await waitFor(() => inserted.length > 20 && attempts.length > 20, { what: 'writers started' });

    const { applied } = await migrateToLatest(db);
    expect(applied).toContain('140_autonomous_tasks_partitioned');
    const atSwitch = { inserted: inserted.length, attempts: attempts.length };
    await waitFor(() => inserted.length > atSwitch.inserted + 20 && attempts.length > atSwitch.attempts + 20, {
      what: 'writers after the switch',
    });
    stop = true;
    await Promise.all([plain, audited]);
    await logger.close();
    await writerDb.destroy();

    expect(errors).toEqual([]);
    const { rows: kindAfter } = await sql<{ relkind: string }>`
      SELECT relkind FROM pg_class WHERE relname = 'autonomous_tasks'`.execute(db);
    expect(kindAfter).toEqual([{ relkind: 'p' }]);
    // Every old row, with its id and created_at, is in the legacy partition.
    const { rows: after } = await sql<{ id: string; created_at: Date }>`
      SELECT id, created_at FROM autonomous_tasks_legacy WHERE id = ANY(${before.map((r) => r.id)}::uuid[]) ORDER BY id`.execute(
      db,
    );
    expect(after).toEqual(before);
    // Every write of both writers is there once.
    const { rows: counts } = await sql<{ plain: number; audited: number; attempts: number }>`
      SELECT count(*) FILTER (WHERE id = ANY(${inserted}::uuid[]))::int AS plain,
             count(*) FILTER (WHERE job_id = ANY(${attempts}::text[]))::int AS audited,
             count(DISTINCT job_id) FILTER (WHERE job_id = ANY(${attempts}::text[]))::int AS attempts
      FROM autonomous_tasks`.execute(db);
    expect(counts).toEqual([{ plain: inserted.length, audited: attempts.length, attempts: attempts.length }]);
    const { rows: done } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM autonomous_tasks WHERE job_id = ANY(${attempts}::text[]) AND status = 'completed'`.execute(
      db,
    );
    expect(done).toEqual([{ n: attempts.length }]);
    const names = (await partitions(db)).map((p) => p.partition_name);
    expect(names[0]).toBe('autonomous_tasks_legacy');
    expect(names).toContain('autonomous_tasks_default');
    // The summary helper reads the converted table.
    const { rows: summary } = await sql<{ total_executions: number }>`
      SELECT total_executions FROM get_autonomous_task_summary(${ws}::uuid, 'email_sync', 24 * 366)`.execute(db);
    expect(summary).toEqual([{ total_executions: 20_000 }]);
  });
});
