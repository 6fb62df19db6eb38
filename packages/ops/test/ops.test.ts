import { randomUUID } from 'node:crypto';
import { createAuditWriter } from '@fleet/audit-writer';
import { auditJobId } from '@fleet/catalog';
import { createProducer, createRedis } from '@fleet/queues';
import {
  createTestDatabase,
  createTestRedis,
  seedRows,
  seedWorkspaces,
  type TestDatabase,
  type TestRedis,
} from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Access,
  ADMIN,
  cancellable,
  cancelTask,
  createApiKey,
  dashboardStats,
  enqueueJob,
  getTask,
  listTasks,
  type OpsDeps,
  OpsError,
  queueCounts,
  retryable,
  retryTask,
  revokeApiKey,
  summary,
  verifyApiKey,
} from '../src/index.ts';

let tdb: TestDatabase;
let tredis: TestRedis;
let deps: OpsDeps;
let wsA: string;
let wsB: string;
let scopedA: Access;

beforeAll(async () => {
  tdb = await createTestDatabase('ops');
  tredis = createTestRedis('ops');
  deps = {
    db: tdb.db,
    producer: createProducer({ redis: tredis.url, prefix: tredis.prefix, db: tdb.db }),
    redis: createRedis(tredis.url, 'producer'),
    prefix: tredis.prefix,
    auditWriter: createAuditWriter({ db: tdb.db }),
  };
  [wsA, wsB] = (await seedWorkspaces(tdb.db, 2)) as [string, string];
  scopedA = { kind: 'workspaces', workspaceIds: [wsA] };
});

afterAll(async () => {
  await deps.auditWriter.close();
  await deps.producer.close();
  deps.redis.disconnect();
  await tredis.cleanup();
  await tdb.drop();
});

async function opsError(promise: Promise<unknown>): Promise<OpsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpsError);
  return error as OpsError;
}

describe('enqueueJob', () => {
  it('enqueues a job with its pending row, found by job id and by row id', async () => {
    const r = await enqueueJob(deps, {
      queue: 'analytics_queue',
      job: 'daily_analytics_rollup',
      payload: { workspace_id: wsA, date: '2026-01-02' },
      delayMs: 60_000,
      priority: 5,
    });
    expect(r.created).toBe(true);
    const byJob = await getTask(deps, r.jobId);
    expect(byJob.task?.status).toBe('pending');
    expect(byJob.job?.state).toBe('delayed');
    expect(byJob.job?.priority).toBe(5);
    const byRow = await getTask(deps, byJob.task!.id);
    expect(byRow.jobId).toBe(r.jobId);
    expect(byRow.queue).toBe('analytics_queue');
  });

  it('finds an auto-numbered job by its BullMQ id although its rows record <id>@<timestamp>', async () => {
    // As a producer in another language would add it: no job id of its own.
    const job = await deps.producer
      .queue('analytics_queue')
      .add('daily_analytics_rollup', { workspace_id: wsA }, { delay: 60_000 });
    const recorded = auditJobId(job.id!, job.timestamp);
    expect(recorded).toBe(`${job.id}@${job.timestamp}`);
    await deps.auditWriter.pending({
      queueName: 'analytics_queue',
      jobId: recorded,
      attempt: 1,
      workspaceId: wsA,
      taskType: 'daily_analytics_rollup',
      agentName: 'analytics',
      triggeredBy: 'api',
      inputData: { workspace_id: wsA },
      executedAt: new Date(),
      jobCreatedAt: new Date(job.timestamp),
    });
    const detail = await getTask(deps, job.id!);
    expect(detail).toMatchObject({ jobId: job.id, auditJobId: recorded, queue: 'analytics_queue' });
    expect(detail.attempts.map((a) => a.status)).toEqual(['pending']);
    expect(detail.job?.state).toBe('delayed');
    const cancelled = await cancelTask(deps, job.id!);
    expect(cancelled).toMatchObject({ action: 'removed', attempt: 1 });
    const rows = await tdb.db
      .selectFrom('autonomous_tasks')
      .select(['status'])
      .where('job_id', '=', recorded)
      .execute();
    expect(rows).toEqual([{ status: 'cancelled' }]);
  });

  it('names the bad fields, and reports oversized payloads separately', async () => {
    const bad = await opsError(
      enqueueJob(deps, {
        queue: 'analytics_queue',
        job: 'daily_analytics_rollup',
        payload: { workspace_id: 'x', nope: 1 },
      }),
    );
    expect(bad.kind).toBe('invalid_input');
    expect(bad.fields.map((f) => f.field).sort()).toEqual(['nope', 'workspace_id']);
    const big = await opsError(
      enqueueJob(deps, {
        queue: 'analytics_queue',
        job: 'daily_analytics_rollup',
        payload: { workspace_id: wsA, date: 'x'.repeat(20_000) },
      }),
    );
    expect(big.kind).toBe('payload_too_large');
    const unknown = await opsError(enqueueJob(deps, { queue: 'nope_queue', job: 'x', payload: {} }));
    expect(unknown.kind).toBe('not_found');
  });

  it('refuses a workspace outside the caller scope, and fleet-level jobs for scoped callers', async () => {
    const other = await opsError(
      enqueueJob(
        deps,
        { queue: 'analytics_queue', job: 'daily_analytics_rollup', payload: { workspace_id: wsB } },
        scopedA,
      ),
    );
    expect(other.kind).toBe('forbidden');
    const fleet = await opsError(
      enqueueJob(deps, { queue: 'maintenance_queue', job: 'system_health_check', payload: {} }, scopedA),
    );
    expect(fleet.kind).toBe('forbidden');
  });

  it('returns the first job for a repeated idempotency key and refuses it for another request', async () => {
    const req = {
      queue: 'analytics_queue',
      job: 'weekly_report_generation',
      payload: { workspace_id: wsA, week_start: '2026-01-05' },
      idempotencyKey: `key-${randomUUID()}`,
      principal: 'p1',
      delayMs: 600_000,
    };
    const results = await Promise.all([enqueueJob(deps, req), enqueueJob(deps, req), enqueueJob(deps, req)]);
    expect(new Set(results.map((r) => r.jobId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const delayed = await deps.producer.queue('analytics_queue').getJobs(['delayed']);
    expect(delayed.filter((j) => j.name === 'weekly_report_generation')).toHaveLength(1);
    // Still the same job after the job left Redis.
    await (await deps.producer.queue('analytics_queue').getJob(results[0]!.jobId))!.remove();
    const again = await enqueueJob(deps, req);
    expect(again).toMatchObject({ jobId: results[0]!.jobId, created: false });
    const different = await opsError(
      enqueueJob(deps, { ...req, payload: { ...req.payload, week_start: '2026-01-12' } }),
    );
    expect(different.kind).toBe('conflict');
    // Another principal's identical key is its own.
    const other = await enqueueJob(deps, { ...req, principal: 'p2' });
    expect(other.jobId).not.toBe(results[0]!.jobId);
  });
});

describe('listTasks', () => {
  it('pages newest first without repeats or gaps while rows are inserted', async () => {
    const ws = (await seedWorkspaces(tdb.db, 1))[0]!;
    await seedRows(
      deps.auditWriter,
      Array.from({ length: 7 }, () => ({ workspaceId: ws })),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await listTasks(deps.db, { workspace_id: ws, limit: '3', ...(cursor ? { cursor } : {}) });
      seen.push(...r.tasks.map((t) => t.id));
      // Newer rows arriving between pages must not shift the next page.
      await seedRows(deps.auditWriter, [{ workspaceId: ws }, { workspaceId: ws }]);
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM autonomous_tasks WHERE workspace_id = ${ws} ORDER BY created_at DESC, id DESC`.execute(deps.db);
    // The first page was read before any insert: the 7 are the oldest rows, in the same order.
    expect(seen).toEqual(rows.slice(-7).map((r) => r.id));
  });

  it('filters by type, status and time, and keeps scoped callers to their workspaces', async () => {
    const [w1, w2] = (await seedWorkspaces(tdb.db, 2)) as [string, string];
    await seedRows(deps.auditWriter, [
      { workspaceId: w1, taskType: 'email_sync', status: 'failed' },
      { workspaceId: w1, taskType: 'email_sync', status: 'completed' },
      { workspaceId: w2, taskType: 'email_sync', status: 'failed' },
    ]);
    const failed = await listTasks(deps.db, {
      workspace_id: w1,
      status: 'failed,partial_failure',
      task_type: 'email_sync',
    });
    expect(failed.tasks).toHaveLength(1);
    const future = await listTasks(deps.db, { workspace_id: w1, since: new Date(Date.now() + 60_000).toISOString() });
    expect(future.tasks).toHaveLength(0);
    const scoped = await listTasks(deps.db, { limit: 500 }, { kind: 'workspaces', workspaceIds: [w1] });
    expect(scoped.tasks.length).toBe(2);
    expect(scoped.tasks.every((t) => t.workspace_id === w1)).toBe(true);
    const denied = await opsError(listTasks(deps.db, { workspace_id: w2 }, { kind: 'workspaces', workspaceIds: [w1] }));
    expect(denied.kind).toBe('forbidden');
    const bad = await opsError(listTasks(deps.db, { status: 'done', limit: '0', cursor: 'zzz' }));
    expect(bad.fields.map((f) => f.field).sort()).toEqual(['limit', 'status']);
    const badCursor = await opsError(listTasks(deps.db, { cursor: 'zzz' }));
    expect(badCursor.fields[0]?.field).toBe('cursor');
  });

  it('pages a key scoped to several workspaces newest first across them, with filters and cursors', async () => {
    const [w1, w2, w3] = (await seedWorkspaces(tdb.db, 3)) as [string, string, string];
    await seedRows(
      deps.auditWriter,
      Array.from({ length: 9 }, (_, i) => ({
        workspaceId: [w1, w2, w3][i % 3]!,
        taskType: 'email_sync' as const,
        status: i % 2 ? ('failed' as const) : ('completed' as const),
      })),
    );
    const access: Access = { kind: 'workspaces', workspaceIds: [w1, w2] };
    const expected = await tdb.db
      .selectFrom('autonomous_tasks')
      .select('id')
      .where('workspace_id', 'in', [w1, w2])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(expected).toHaveLength(6);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listTasks(deps.db, { limit: 4, ...(cursor ? { cursor } : {}) }, access);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(expected.map((r) => r.id));
    const failed = await listTasks(deps.db, { status: 'failed' }, access);
    expect(failed.tasks.map((t) => t.status)).toEqual(['failed', 'failed', 'failed']);
    expect(failed.tasks.every((t) => t.workspace_id === w1 || t.workspace_id === w2)).toBe(true);
  });

  it('hides another workspace task from getTask as not found', async () => {
    const r = await enqueueJob(deps, {
      queue: 'analytics_queue',
      job: 'daily_analytics_rollup',
      payload: { workspace_id: wsB },
      delayMs: 60_000,
    });
    const e = await opsError(getTask(deps, r.jobId, { access: scopedA }));
    expect(e.kind).toBe('not_found');
    expect((await getTask(deps, r.jobId, { access: { kind: 'workspaces', workspaceIds: [wsB] } })).jobId).toBe(r.jobId);
  });
});

describe('summary and dashboard figures', () => {
  it('match SQL over the same rows', async () => {
    const ws = (await seedWorkspaces(tdb.db, 1))[0]!;
    await seedRows(deps.auditWriter, [
      { workspaceId: ws, taskType: 'email_sync', durationMs: 1_000, costUsd: 0.5 },
      {
        workspaceId: ws,
        taskType: 'email_sync',
        durationMs: 3_000,
        costUsd: 0.25,
        status: 'failed',
        errorMessage: 'boom',
      },
      { workspaceId: ws, taskType: 'lead_scoring_batch', durationMs: 10_000, costUsd: 0 },
      { workspaceId: ws, taskType: 'lead_scoring_batch', startedMinutesAgo: 60 * 30 },
      { workspaceId: ws, taskType: 'lead_scoring_batch', status: 'running', startedMinutesAgo: 120 },
    ]);
    const s = await summary(deps.db, { workspace_id: ws, hours: '24' });
    const email = s.find((r) => r.taskType === 'email_sync')!;
    expect(email).toMatchObject({
      totalExecutions: 2,
      successfulExecutions: 1,
      failedExecutions: 1,
      avgDurationMs: 2000,
    });
    expect(Number(email.totalCostUsd)).toBe(0.75);
    expect(s.find((r) => r.taskType === 'lead_scoring_batch')!.totalExecutions).toBe(2);

    const d = await dashboardStats(deps.db, { workspace_id: ws, hours: 24 });
    const { rows } = await sql<{ p95: number; avg: string; n: number }>`
      SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95, avg(duration_ms) AS avg, count(*) AS n
      FROM autonomous_tasks WHERE workspace_id = ${ws} AND executed_at >= now() - interval '24 hours'`.execute(deps.db);
    expect(d.totals.total).toBe(Number(rows[0]!.n));
    expect(d.totals.p95DurationMs).toBeCloseTo(Number(rows[0]!.p95), 6);
    expect(d.totals.avgDurationMs).toBeCloseTo(Number(rows[0]!.avg), 6);
    expect(d.totals.successRate).toBeCloseTo(2 / 3, 6);
    expect(Number(d.totals.costUsd)).toBe(0.75);
    expect(d.stuck).toHaveLength(1);
    expect(d.failures.map((f) => f.errorMessage)).toEqual(['boom']);
    expect(d.byType.map((t) => t.taskType)).toEqual(['email_sync', 'lead_scoring_batch']);

    const denied = await opsError(summary(deps.db, { workspace_id: ws }, scopedA));
    expect(denied.kind).toBe('forbidden');
    const invalid = await opsError(summary(deps.db, { workspace_id: 'kh72b1cng9h88691sx4x7krt2h7v7deh', hours: 0 }));
    expect(invalid.fields.map((f) => f.field).sort()).toEqual(['hours', 'workspace_id']);
  });
});

describe('queueCounts', () => {
  it('counts every catalog queue with the age of the oldest waiting job', async () => {
    await deps.producer.enqueue('email_integration_queue', 'email_sync', {
      workspace_id: wsA,
      account_id: randomUUID(),
    } as never);
    const counts = await queueCounts(deps.producer);
    expect(counts.map((c) => c.queue)).toContain('maintenance_queue');
    const email = counts.find((c) => c.queue === 'email_integration_queue')!;
    expect(email.waiting).toBeGreaterThanOrEqual(1);
    expect(email.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(counts.find((c) => c.queue === 'media_transcription_queue')!.oldestWaitingMs).toBeNull();
  });
});

describe('cancelTask', () => {
  it('removes a waiting job and closes its pending row as cancelled', async () => {
    const r = await enqueueJob(deps, {
      queue: 'analytics_queue',
      job: 'monthly_summary',
      payload: { workspace_id: wsA },
      delayMs: 600_000,
    });
    const result = await cancelTask(deps, r.jobId, { reason: 'not needed' });
    expect(result).toMatchObject({ action: 'removed', attempt: 1 });
    expect(await deps.producer.queue('analytics_queue').getJob(r.jobId)).toBeUndefined();
    const rows = await deps.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', r.jobId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'cancelled', attempt: 1 });
    expect(rows[0]!.error_message).toContain('not needed');
    const again = await opsError(cancelTask(deps, r.jobId));
    expect(again.kind).toBe('conflict');
  });

  it('refuses a scoped caller for another workspace task', async () => {
    const r = await enqueueJob(deps, {
      queue: 'analytics_queue',
      job: 'monthly_summary',
      payload: { workspace_id: wsB },
      delayMs: 600_000,
    });
    expect((await opsError(cancelTask(deps, r.jobId, { access: scopedA }))).kind).toBe('not_found');
    expect(await deps.producer.queue('analytics_queue').getJob(r.jobId)).toBeDefined();
  });
});

describe('api keys', () => {
  it('stores only a hash, verifies scoped keys and the admin key, and forgets revoked keys', async () => {
    const { key, info } = await createApiKey(deps.db, { name: 'svc', workspaceIds: [wsA] });
    const stored = await deps.db.selectFrom('api_keys').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(key.slice(15));
    const p = await verifyApiKey(deps.db, key);
    expect(p?.access).toEqual({ kind: 'workspaces', workspaceIds: [wsA] });
    const admin = await verifyApiKey(deps.db, 'a'.repeat(32), { adminKey: 'a'.repeat(32) });
    expect(admin?.access.kind).toBe('admin');
    expect(await verifyApiKey(deps.db, `${key}x`)).toBeNull();
    await revokeApiKey(deps.db, info.keyPrefix);
    expect(await verifyApiKey(deps.db, key)).toBeNull();
    const bad = await opsError(createApiKey(deps.db, { name: '', workspaceIds: ['nope'] }));
    expect(bad.fields.map((f) => f.field)).toEqual(['name', 'workspace_ids.0']);
  });
});

describe('retryTask', () => {
  it('re-enqueues a finished task whose job is gone, with triggered_by retry', async () => {
    const jobId = randomUUID();
    await seedRows(deps.auditWriter, [
      { workspaceId: wsA, taskType: 'daily_analytics_rollup', status: 'failed', queueName: 'analytics_queue', jobId },
    ]);
    await deps.db.selectFrom('autonomous_tasks').select('id').where('job_id', '=', jobId).executeTakeFirstOrThrow();
    // seeded input_data is not a valid payload: the retry names the problem instead of enqueueing junk
    const invalid = await opsError(retryTask(deps, jobId));
    expect(invalid.kind).toBe('invalid_input');

    const r = await enqueueJob(deps, {
      queue: 'analytics_queue',
      job: 'daily_analytics_rollup',
      payload: { workspace_id: wsA, date: '2026-02-01' },
      delayMs: 600_000,
    });
    const waiting = await opsError(retryTask(deps, r.jobId));
    expect(waiting.kind).toBe('conflict');
    // The predicates behind the dashboard's buttons answer what the operations then do.
    const delayed = await getTask(deps, r.jobId);
    expect([cancellable(delayed), retryable(delayed, ADMIN)]).toEqual([true, false]);
    await cancelTask(deps, r.jobId);
    const cancelled = await getTask(deps, r.jobId);
    expect([cancellable(cancelled), retryable(cancelled, ADMIN)]).toEqual([false, true]);
    const scoped = { kind: 'workspaces', workspaceIds: [wsA] } as const;
    expect(retryable(await getTask(deps, r.jobId, { access: scoped }), scoped)).toBe(true);
    const retried = await retryTask(deps, r.jobId);
    expect(retried.action).toBe('requeued');
    const detail = await getTask(deps, retried.jobId);
    expect(detail.task).toMatchObject({ status: 'pending', triggered_by: 'retry' });
    expect(detail.payload).toMatchObject({ workspace_id: wsA, date: '2026-02-01' });
  });
});
