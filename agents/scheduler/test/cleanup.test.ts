import { createRedis, type RedisClient } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, deleteOldTaskRows } from '../src/cleanup.ts';
import { insertTaskRow, seedOrg, seedWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let connection: RedisClient;
let queue: Queue;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await createTestDatabase('sched_cleanup');
  r = createTestRedis('sched-cleanup');
  connection = createRedis(r.url, 'worker');
  queue = new Queue('media_transcription_queue', { connection, prefix: r.prefix });
});

beforeEach(async () => {
  await t.db.deleteFrom('autonomous_tasks').execute();
});

afterAll(async () => {
  await queue.close();
  connection.disconnect();
  await r.cleanup();
  await t.drop();
});

async function seedRows() {
  const old: string[] = [];
  const kept: string[] = [];
  const statuses = ['completed', 'failed', 'partial_failure', 'cancelled', 'running'] as const;
  for (let i = 0; i < 10; i++) old.push(await insertTaskRow(t.db, { status: statuses[i % 5]!, ageMs: (91 + i) * DAY }));
  for (let i = 0; i < 4; i++) kept.push(await insertTaskRow(t.db, { status: 'completed', ageMs: 89 * DAY }));
  kept.push(await insertTaskRow(t.db, { status: 'failed', ageMs: 60_000 }));
  return { old, kept };
}

const remainingIds = async () =>
  (await t.db.selectFrom('autonomous_tasks').select('id').execute()).map((row) => row.id).sort();

describe('data cleanup', () => {
  it('deletes exactly the rows older than the retention, in batches, reporting progress', async () => {
    const { kept } = await seedRows();
    const progress: unknown[] = [];
    const report = await cleanup({
      db: t.db,
      queues: {},
      retentionDays: 90,
      batchSize: 3,
      completedJobAgeMs: DAY,
      failedJobAgeMs: DAY,
      idempotencyTtlMs: DAY,
      progress: (p) => {
        progress.push(p);
      },
    });
    expect(report).toMatchObject({ retention_days: 90, audit_rows_deleted: 10, batches: 4, jobs_removed_total: 0 });
    expect(await remainingIds()).toEqual([...kept].sort());
    expect(progress).toEqual([
      // Rows of the legacy partition (the table as it was before partitioning) go row by row.
      { phase: 'audit_partitions', partitions_dropped: 0 },
      { phase: 'audit_rows', audit_rows_deleted: 3, batches: 1 },
      { phase: 'audit_rows', audit_rows_deleted: 6, batches: 2 },
      { phase: 'audit_rows', audit_rows_deleted: 9, batches: 3 },
      { phase: 'audit_rows', audit_rows_deleted: 10, batches: 4 },
    ]);
  });

  it('stops between batches when aborted, keeping what it had deleted', async () => {
    await seedRows();
    const controller = new AbortController();
    const run = deleteOldTaskRows(
      t.db,
      new Date(Date.now() - 90 * DAY),
      4,
      () => controller.abort(),
      controller.signal,
    );
    await expect(run).rejects.toThrow(/abort/i);
    expect(await remainingIds()).toHaveLength(15 - 4);
  });

  it('trims completed and failed jobs older than their grace from every queue given', async () => {
    await queue.obliterate({ force: true });
    const workerConnection = createRedis(r.url, 'worker');
    const worker = new Worker(
      'media_transcription_queue',
      async (job) => {
        if (job.data.fail) throw new Error('boom');
      },
      { connection: workerConnection, prefix: r.prefix },
    );
    try {
      for (let i = 0; i < 5; i++) await queue.add('media_transcription', { fail: false });
      for (let i = 0; i < 2; i++) await queue.add('media_transcription', { fail: true }, { attempts: 1 });
      await waitFor(async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return c.completed === 5 && c.failed === 2;
      });
    } finally {
      await worker.close();
      workerConnection.disconnect();
    }

    // A long grace keeps recent jobs.
    const kept = await cleanup({
      db: t.db,
      queues: { media_transcription_queue: queue },
      retentionDays: 90,
      batchSize: 100,
      completedJobAgeMs: DAY,
      failedJobAgeMs: DAY,
      idempotencyTtlMs: DAY,
    });
    expect(kept.jobs_removed).toEqual({ media_transcription_queue: { completed: 0, failed: 0 } });

    const trimmed = await cleanup({
      db: t.db,
      queues: { media_transcription_queue: queue },
      retentionDays: 90,
      batchSize: 100,
      completedJobAgeMs: 0,
      failedJobAgeMs: 0,
      idempotencyTtlMs: DAY,
    });
    expect(trimmed.jobs_removed).toEqual({ media_transcription_queue: { completed: 5, failed: 2 } });
    expect(trimmed.jobs_removed_total).toBe(7);
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  });

  it('given a workspace, deletes only that workspace’s old rows and expired keys, and leaves Redis alone', async () => {
    const org = await seedOrg(t.db);
    const [a, b] = [await seedWorkspace(t.db, org), await seedWorkspace(t.db, org)];
    await insertTaskRow(t.db, { status: 'completed', ageMs: 100 * DAY, workspaceId: a }); // deleted
    const oldB = await insertTaskRow(t.db, { status: 'completed', ageMs: 100 * DAY, workspaceId: b });
    const oldFleet = await insertTaskRow(t.db, { status: 'completed', ageMs: 100 * DAY, workspaceId: null });
    const newA = await insertTaskRow(t.db, { status: 'completed', ageMs: DAY, workspaceId: a });
    const key = (principal: string, workspace: string | null, ageMs: number) =>
      t.db
        .insertInto('idempotency_keys')
        .values({
          principal,
          key: `k-${Math.random()}`,
          request_hash: 'h',
          queue_name: 'analytics_queue',
          job_name: 'monthly_summary',
          job_id: crypto.randomUUID(),
          workspace_id: workspace,
          created_at: new Date(Date.now() - ageMs),
        })
        .execute();
    await key('a-expired', a, 2 * DAY);
    await key('a-live', a, 60_000);
    await key('b-expired', b, 2 * DAY);
    await queue.add('media_transcription', {});
    const jobsBefore = await queue.getJobCounts('waiting', 'completed', 'failed');

    const report = await cleanup({
      db: t.db,
      queues: { media_transcription_queue: queue },
      workspaceId: a,
      retentionDays: 90,
      batchSize: 100,
      completedJobAgeMs: 0,
      failedJobAgeMs: 0,
      idempotencyTtlMs: DAY,
    });
    expect(report).toMatchObject({
      workspace_id: a,
      audit_rows_deleted: 1,
      idempotency_keys_deleted: 1,
      jobs_removed: {},
      jobs_removed_total: 0,
    });
    expect(await remainingIds()).toEqual([oldB, oldFleet, newA].sort());
    const principals = async () =>
      (await t.db.selectFrom('idempotency_keys').select('principal').execute()).map((k) => k.principal).sort();
    expect(await principals()).toEqual(['a-live', 'b-expired']);
    expect(await queue.getJobCounts('waiting', 'completed', 'failed')).toEqual(jobsBefore);

    // The fleet-wide run deletes every expired key.
    const fleet = await cleanup({
      db: t.db,
      queues: {},
      retentionDays: 90,
      batchSize: 1,
      completedJobAgeMs: DAY,
      failedJobAgeMs: DAY,
      idempotencyTtlMs: DAY,
    });
    expect(fleet).toMatchObject({ workspace_id: null, audit_rows_deleted: 2, idempotency_keys_deleted: 1 });
    expect(await principals()).toEqual(['a-live']);
    await t.db.deleteFrom('idempotency_keys').execute();
  });
});
