import { randomUUID } from 'node:crypto';
import { createAuditWriter } from '@fleet/audit-writer';
import { catalog, QUEUE_NAMES } from '@fleet/catalog';
import { TASK_TYPES } from '@fleet/db';
import { createProducer, createRedis, EnqueueUnconfirmedError } from '@fleet/queues';
import {
  createTestDatabase,
  createTestRedis,
  seedRows,
  seedWorkspaces,
  startTcpProxy,
  type TestDatabase,
  type TestRedis,
} from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Access,
  authorizeEnqueue,
  canSeeTask,
  dashboardStats,
  enqueueJob,
  getTask,
  listTasks,
  type OpsDeps,
  OpsError,
  queueCounts,
  retryTask,
  summary,
  TENANT_TASK_TYPES,
} from '../src/index.ts';

let tdb: TestDatabase;
let tredis: TestRedis;
let deps: OpsDeps;
let wsA: string;
let wsB: string;
let scopedA: Access;

beforeAll(async () => {
  tdb = await createTestDatabase('ops_access');
  tredis = createTestRedis('ops-access');
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
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpsError);
  return error as OpsError;
}

describe('the job catalog', () => {
  it('gives every job a scope; fleet jobs are the maintenance jobs, every other job needs a workspace_id', () => {
    const scopes: Record<string, string> = {};
    for (const q of QUEUE_NAMES) {
      for (const [name, def] of Object.entries(catalog[q].jobs)) {
        scopes[name] = def.scope;
        if (def.scope !== 'workspace') continue;
        const shape = (
          def.payload as unknown as { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> }
        ).shape;
        expect(shape.workspace_id, `${name} has a workspace_id`).toBeDefined();
      }
    }
    expect(
      Object.entries(scopes)
        .filter(([, s]) => s === 'fleet')
        .map(([n]) => n),
    ).toEqual(['system_health_check', 'data_cleanup']);
    // Task types no job of the catalog runs (the seed's campaign_optimization...) are not among them.
    const jobTypes = QUEUE_NAMES.flatMap((q) => Object.values(catalog[q].jobs).map((d) => d.taskType as string));
    expect(TASK_TYPES.length).toBeGreaterThan(jobTypes.length);
    expect([...TENANT_TASK_TYPES].sort()).toEqual(
      jobTypes.filter((t) => t !== 'system_health_check' && t !== 'data_cleanup').sort(),
    );
  });

  it('lets a tenant enqueue workspace jobs for its own workspaces only, and no fleet job or fleet-wide run', () => {
    const decide = (queue: string, job: string, payload: object) => {
      try {
        authorizeEnqueue(scopedA, queue, job, payload);
        return 'allowed';
      } catch (error) {
        return (error as OpsError).message;
      }
    };
    expect(decide('analytics_queue', 'monthly_summary', { workspace_id: wsA })).toBe('allowed');
    expect(decide('analytics_queue', 'monthly_summary', { workspace_id: wsA.toUpperCase() })).toBe('allowed');
    expect(decide('analytics_queue', 'monthly_summary', { workspace_id: wsB })).toMatch(
      `not allowed to access workspace ${wsB}`,
    );
    expect(decide('continuous_intelligence_queue', 'continuous_intelligence_update', {})).toMatch(
      /without a workspace_id runs for every workspace: it needs the admin key/,
    );
    for (const job of ['system_health_check', 'data_cleanup']) {
      expect(decide('maintenance_queue', job, { workspace_id: wsA })).toMatch(/is a fleet job: it needs the admin key/);
    }
    expect(() => authorizeEnqueue({ kind: 'admin' }, 'maintenance_queue', 'data_cleanup', {})).not.toThrow();
  });
});

describe('rows of fleet jobs', () => {
  it('are never shown to a tenant, even when an operator labelled one with its workspace', async () => {
    const health = await enqueueJob(deps, {
      queue: 'maintenance_queue',
      job: 'system_health_check',
      payload: { workspace_id: wsA },
      delayMs: 600_000,
    });
    await seedRows(deps.auditWriter, [
      { workspaceId: wsA, taskType: 'data_cleanup', status: 'completed', costUsd: 5 },
      { workspaceId: wsA, taskType: 'email_sync', status: 'completed', costUsd: 1 },
    ]);
    const row = await tdb.db
      .selectFrom('autonomous_tasks')
      .selectAll()
      .where('job_id', '=', health.jobId)
      .executeTakeFirstOrThrow();
    expect(row.workspace_id).toBe(wsA);
    expect(canSeeTask(scopedA, row)).toBe(false);
    expect(canSeeTask({ kind: 'admin' }, row)).toBe(true);

    expect((await opsError(getTask(deps, health.jobId, { access: scopedA }))).kind).toBe('not_found');
    expect((await opsError(getTask(deps, row.id, { access: scopedA }))).kind).toBe('not_found');
    expect((await opsError(retryTask(deps, health.jobId, { access: scopedA }))).kind).toBe('not_found');
    const mine = await listTasks(deps.db, { limit: 500 }, scopedA);
    expect(mine.tasks.map((t) => t.task_type)).toEqual(['email_sync']);
    const asked = await listTasks(deps.db, { task_type: 'system_health_check,data_cleanup' }, scopedA);
    expect(asked.tasks).toEqual([]);
    const stats = await dashboardStats(deps.db, {}, scopedA);
    expect(stats.byType.map((t) => t.taskType)).toEqual(['email_sync']);
    expect(stats.totals).toMatchObject({ total: 1, costUsd: '1.000000' });
    const figures = await summary(deps.db, { workspace_id: wsA }, scopedA);
    expect(figures.map((f) => f.taskType)).toEqual(['email_sync']);
    const adminFigures = await summary(deps.db, { workspace_id: wsA });
    expect(adminFigures.map((f) => f.taskType).sort()).toEqual(['data_cleanup', 'email_sync', 'system_health_check']);
  });

  it('keeps fleet-wide queue counts to operators', async () => {
    const error = await opsError(queueCounts(deps.producer, scopedA));
    expect(error.kind).toBe('forbidden');
    expect(error.message).toBe('fleet-wide queue counts needs the admin key');
    expect(await queueCounts(deps.producer)).toHaveLength(QUEUE_NAMES.length);
  });

  it('does not let a tenant run a task again whose payload it could not enqueue', async () => {
    // A workspace job of A's whose stored payload names no workspace (an operator's fleet-wide run).
    const { jobId } = await deps.producer.enqueue(
      'continuous_intelligence_queue',
      'continuous_intelligence_update',
      {},
    );
    await tdb.db.updateTable('autonomous_tasks').set({ workspace_id: wsA }).where('job_id', '=', jobId).execute();
    const job = await deps.producer.queue('continuous_intelligence_queue').getJob(jobId);
    await job!.remove();
    await deps.auditWriter.finish(
      {
        queueName: 'continuous_intelligence_queue',
        jobId,
        attempt: 1,
        workspaceId: wsA,
        taskType: 'continuous_intelligence_update',
        agentName: 'continuous-intelligence',
        triggeredBy: 'api',
        inputData: {},
        executedAt: new Date(),
        jobCreatedAt: new Date(),
      },
      { status: 'completed' },
    );
    const error = await opsError(retryTask(deps, jobId, { access: scopedA }));
    expect(error.kind).toBe('forbidden');
    expect(error.message).toMatch(/without a workspace_id runs for every workspace/);
  });
});

describe('idempotency keys', () => {
  const request = (key: string, ttlMs?: number) => ({
    queue: 'analytics_queue',
    job: 'monthly_summary',
    payload: { workspace_id: wsA, month: '2026-01' },
    delayMs: 600_000,
    idempotencyKey: key,
    principal: 'p-ttl',
    ...(ttlMs === undefined ? {} : { idempotencyTtlMs: ttlMs }),
  });

  it('expire: a key older than its time to live is a new request, even a different one', async () => {
    const key = `k-${randomUUID()}`;
    const first = await enqueueJob(deps, request(key));
    expect((await enqueueJob(deps, request(key))).jobId).toBe(first.jobId);
    await tdb.db
      .updateTable('idempotency_keys')
      .set({ created_at: sql<Date>`now() - interval '25 hours'` })
      .where('key', '=', key)
      .execute();
    // Still held under a longer time to live.
    expect((await enqueueJob(deps, request(key, 48 * 3_600_000))).jobId).toBe(first.jobId);
    const second = await enqueueJob(deps, request(key));
    expect(second).toMatchObject({ created: true });
    expect(second.jobId).not.toBe(first.jobId);
    expect((await enqueueJob(deps, request(key))).jobId).toBe(second.jobId);
    const other = { ...request(key), payload: { workspace_id: wsA, month: '2026-02' } };
    expect((await opsError(enqueueJob(deps, other))).kind).toBe('conflict');
  });

  it('survive an add whose outcome is unknown: the repeat returns the same job, never a second', async () => {
    const u = new URL(tredis.url);
    const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    const producer = createProducer({ redis: proxy.via(tredis.url), prefix: tredis.prefix, db: tdb.db });
    const viaProxy: OpsDeps = { ...deps, producer };
    try {
      await producer.queue('analytics_queue').getJobCounts('waiting');
      proxy.dropReplies();
      const key = `k-${randomUUID()}`;
      const error = await enqueueJob(viaProxy, request(key)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EnqueueUnconfirmedError);
      const { jobId } = error as EnqueueUnconfirmedError;
      const kept = await tdb.db.selectFrom('idempotency_keys').selectAll().where('key', '=', key).executeTakeFirst();
      expect(kept?.job_id).toBe(jobId);
      const row = await tdb.db
        .selectFrom('autonomous_tasks')
        .select('status')
        .where('job_id', '=', jobId)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('pending');

      proxy.restore('reset');
      const again = await enqueueJob(viaProxy, request(key));
      expect(again).toMatchObject({ jobId, created: false });
      const jobs = (await deps.producer.queue('analytics_queue').getJobs(['delayed'])).filter(
        (j) => j.data.month === '2026-01' && j.data.workspace_id === wsA,
      );
      expect(jobs.map((j) => j.id)).toContain(jobId);
    } finally {
      await proxy.close();
      await producer.close();
    }
  });
});
