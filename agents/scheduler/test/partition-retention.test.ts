/**
 * Retention on the partitioned audit table (docs/partitioning.md): whole partitions older than the
 * retention are dropped, the partition holding the cutoff is trimmed row by row, a partition with
 * a row executed after the cutoff is kept whole, and workspace-scoped cleanup deletes only that
 * workspace's rows and never drops a partition.
 */

import type { RedisClient } from '@fleet/queues';
import { createRedis } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup } from '../src/cleanup.ts';
import { healthCheck } from '../src/health-check.ts';
import { seedOrg, seedWorkspace } from './helpers.ts';

const DAY = 86_400_000;
let t: TestDatabase;
let r: TestRedis;
let redis: RedisClient;
let wsA: string;
let wsB: string;

const partitionNames = async (db: Kysely<never>) =>
  (
    await sql<{ partition_name: string }>`SELECT partition_name FROM autonomous_tasks_partitions()`.execute(db)
  ).rows.map((r) => r.partition_name);

async function insertRow(ws: string, createdAt: Date, executedAt = createdAt): Promise<string> {
  const row = await t.db
    .insertInto('autonomous_tasks')
    .values({
      workspace_id: ws,
      task_type: 'email_sync',
      status: 'completed',
      created_at: createdAt,
      executed_at: executedAt,
      completed_at: new Date(executedAt.getTime() + 1_000),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

const remaining = async (ids: string[]) =>
  (await t.db.selectFrom('autonomous_tasks').select('id').where('id', 'in', ids).execute()).map((r) => r.id);

beforeAll(async () => {
  t = await createTestDatabase('sched_partitions');
  r = createTestRedis('sched-partitions');
  redis = createRedis(r.url, 'producer');
  const org = await seedOrg(t.db);
  wsA = await seedWorkspace(t.db, org);
  wsB = await seedWorkspace(t.db, org);
  // A database partitioned by day for the last 60 days: the (empty) pre-partitioning table goes.
  await sql`ALTER TABLE autonomous_tasks DETACH PARTITION autonomous_tasks_legacy`.execute(t.db);
  await sql`DROP TABLE autonomous_tasks_legacy`.execute(t.db);
  await sql`SELECT autonomous_tasks_create_partitions(now() + interval '7 days', now() - interval '60 days')`.execute(
    t.db,
  );
});
afterAll(async () => {
  redis?.disconnect();
  await r?.cleanup();
  await t?.drop();
});

describe('retention on a partitioned autonomous_tasks', () => {
  it('drops whole partitions, trims the boundary partition, keeps a partition with a late row', async () => {
    const now = Date.now();
    const cutoff = now - 30 * DAY;
    const boundaryStart = Math.floor(cutoff / DAY) * DAY; // the UTC day holding the cutoff
    const at = (ms: number) => new Date(ms);
    const dropped = [await insertRow(wsA, at(now - 50 * DAY)), await insertRow(wsB, at(now - 40 * DAY))];
    // Created 45 days ago, executed 10 days ago (a long-delayed job): its partition stays whole.
    const lateDay = at(now - 45 * DAY);
    const late = [await insertRow(wsA, lateDay, at(now - 10 * DAY)), await insertRow(wsB, lateDay)];
    const trimmed = await insertRow(wsA, at((boundaryStart + cutoff) / 2));
    const kept = [
      await insertRow(wsA, at((cutoff + boundaryStart + DAY) / 2)),
      await insertRow(wsB, at(now - 29 * DAY)),
      await insertRow(wsA, at(now - DAY)),
    ];
    const before = await partitionNames(t.db as never);

    const report = await cleanup({
      db: t.db,
      queues: {},
      retentionDays: 30,
      batchSize: 100,
      completedJobAgeMs: DAY,
      failedJobAgeMs: DAY,
      idempotencyTtlMs: DAY,
    });

    const after = await partitionNames(t.db as never);
    const name = (ms: number) => `autonomous_tasks_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
    // Every day partition wholly before the cutoff, except the one holding the late row.
    const expectedDropped = before.filter(
      (p) => p.startsWith('autonomous_tasks_p') && p < name(boundaryStart) && p !== name(lateDay.getTime()),
    );
    expect(report.partitions_dropped.sort()).toEqual(expectedDropped.sort());
    expect(expectedDropped.length).toBeGreaterThanOrEqual(28);
    expect(after).toEqual(before.filter((p) => !expectedDropped.includes(p)));
    expect(report.audit_rows_deleted).toBe(1);
    expect(await remaining([...dropped, trimmed])).toEqual([]);
    expect((await remaining([...late, ...kept])).sort()).toEqual([...late, ...kept].sort());
  });

  it('cleans one workspace row by row across partitions, touching no other workspace or partition', async () => {
    const now = Date.now();
    const a = [await insertRow(wsA, new Date(now - 20 * DAY)), await insertRow(wsA, new Date(now - 5 * DAY))];
    const b = [await insertRow(wsB, new Date(now - 20 * DAY)), await insertRow(wsB, new Date(now - 5 * DAY))];
    const young = await insertRow(wsA, new Date(now - DAY));
    const before = await partitionNames(t.db as never);
    const report = await cleanup({
      db: t.db,
      queues: {},
      workspaceId: wsA,
      retentionDays: 3,
      batchSize: 100,
      completedJobAgeMs: DAY,
      failedJobAgeMs: DAY,
      idempotencyTtlMs: DAY,
    });
    expect(report.partitions_dropped).toEqual([]);
    expect(await partitionNames(t.db as never)).toEqual(before);
    expect(await remaining(a)).toEqual([]);
    expect((await remaining([...b, young])).sort()).toEqual([...b, young].sort());
  });

  it('lets the agents role retire partitions through the definer functions only', async () => {
    const url = new URL(t.url);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query('SET ROLE fleet_agent');
      const { rows } = await client.query<{ partition_name: string }>(
        `SELECT partition_name FROM autonomous_tasks_retirable_partitions(now() - interval '30 days')`,
      );
      // Only the partition that held the late row, deleted by the workspace cleanup above.
      const late = `autonomous_tasks_p${new Date(Date.now() - 45 * DAY).toISOString().slice(0, 10).replaceAll('-', '')}`;
      expect(rows).toEqual([{ partition_name: late }]);
      const retired = await client.query<{ ok: boolean }>(
        `SELECT autonomous_tasks_retire_partition($1, now() - interval '30 days') AS ok`,
        [late],
      );
      expect(retired.rows).toEqual([{ ok: true }]);
      expect(await partitionNames(t.db as never)).not.toContain(late);
      // A partition that is not retirable is refused.
      const young = `autonomous_tasks_p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
      const refused = await client.query<{ ok: boolean }>(
        `SELECT autonomous_tasks_retire_partition($1, now() - interval '30 days') AS ok`,
        [young],
      );
      expect(refused.rows).toEqual([{ ok: false }]);
      const direct = await client.query('ALTER TABLE autonomous_tasks DETACH PARTITION autonomous_tasks_default').then(
        () => null,
        (error: { code?: string }) => error.code,
      );
      expect(direct).toBe('42501');
      const created = await client.query<{ n: number }>(
        `SELECT autonomous_tasks_create_partitions(now() + interval '9 days') AS n`,
      );
      expect(created.rows[0]!.n).toBeGreaterThanOrEqual(1);
    } finally {
      await client.end();
    }
  });

  it('reports rows in the default partition in the health check', async () => {
    const stray = await insertRow(wsA, new Date('2199-06-01T00:00:00Z'), new Date());
    const report = await healthCheck({
      db: t.db,
      redis,
      queues: {},
      thresholds: {
        stuckRunningMs: 3_600_000,
        maxWaitAgeMs: 900_000,
        maxQueueDepth: 10_000,
        maxFailureRate: 1,
        minFailureSample: 1_000,
      },
    });
    expect(report.partitions).toMatchObject({ default_rows: 1, unit: 'day' });
    const partitionProblems = (problems: string[]) => problems.filter((p) => p.startsWith('partitions:'));
    expect(partitionProblems(report.problems)).toEqual([
      expect.stringMatching(/^partitions: 1 rows in autonomous_tasks_default/),
    ]);
    await t.db.deleteFrom('autonomous_tasks').where('id', '=', stray).execute();
    const healthy = await healthCheck({
      db: t.db,
      redis,
      queues: {},
      thresholds: {
        stuckRunningMs: 3_600_000,
        maxWaitAgeMs: 900_000,
        maxQueueDepth: 10_000,
        maxFailureRate: 1,
        minFailureSample: 1_000,
      },
    });
    expect(partitionProblems(healthy.problems)).toEqual([]);
  });
});
