import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { QUEUE_NAMES } from '@fleet/catalog';
import { defineAgent, PermanentError, type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  seedRows,
  seedWorkspaces,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { ADMIN_KEY, client, controlPlaneEnv } from './helpers.ts';
import { rawRequest } from './raw-http.ts';

let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let call: ReturnType<typeof client>;
let logger: AuditWriter;
let wsA: string;
let wsB: string;
let keyA: string;

beforeAll(async () => {
  tdb = await createTestDatabase('cp_api');
  tredis = createTestRedis('cp-api');
  cp = await startControlPlane({ env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix) });
  call = client(cp.url);
  logger = createAuditWriter({ db: tdb.db });
  [wsA, wsB] = (await seedWorkspaces(tdb.db, 2)) as [string, string];
  const created = await call('POST', '/v1/api-keys', { body: { name: 'service A', workspace_ids: [wsA] } });
  expect(created.status).toBe(201);
  keyA = created.body.key;
});

afterAll(async () => {
  await logger?.close();
  await cp?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

const rollup = (workspace_id: string, extra: Record<string, unknown> = {}) => ({
  payload: { workspace_id, date: '2026-01-02' },
  delay_ms: 600_000,
  ...extra,
});

describe('authentication', () => {
  it('answers 401 without a key or with an unknown one, as JSON', async () => {
    for (const key of [null, 'fleet_nope_nope']) {
      const r = await call('GET', '/v1/tasks', { key });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
      expect(r.body.error.message).toMatch(/API key/);
    }
    const xkey = await call('GET', '/v1/tasks', { key: null, headers: { 'x-api-key': keyA } });
    expect(xkey.status).toBe(200);
  });

  it('keeps key management and bull-board to the admin key', async () => {
    expect((await call('GET', '/v1/api-keys', { key: keyA })).status).toBe(403);
    expect((await call('GET', '/admin/queues/api/queues', { key: keyA })).status).toBe(403);
    expect((await call('GET', '/admin/queues/api/queues', { key: null })).status).toBe(401);
    const board = await call('GET', '/admin/queues/api/queues');
    expect(board.status).toBe(200);
    expect(board.body.queues.map((q: { name: string }) => q.name)).toContain('analytics_queue');
    const ui = await call('GET', '/admin/queues/', { headers: { accept: 'text/html' } });
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('__UI_CONFIG__');
    // Nothing is loaded from outside the service.
    expect(ui.text).not.toMatch(/(href|src)="https?:\/\//);
    const page = await call('GET', '/admin/queues/', { key: null, headers: { accept: 'text/html' } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/dashboard/login');
  });

  it('lets the admin promote a delayed job through bull-board, and no one else', async () => {
    const r = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { body: rollup(wsA) });
    const promote = `/admin/queues/api/queues/analytics_queue/${r.body.job_id}/promote`;
    expect((await call('PUT', promote, { key: keyA })).status).toBe(403);
    expect((await call('PUT', promote, { key: null })).status).toBe(401);
    expect((await call('GET', `/v1/tasks/${r.body.job_id}`)).body.job.state).toBe('delayed');
    const done = await call('PUT', promote);
    expect(done.status).toBe(204);
    expect((await call('GET', `/v1/tasks/${r.body.job_id}`)).body.job.state).toBe('waiting');
  });

  it('stops answering to a revoked key', async () => {
    const k = await call('POST', '/v1/api-keys', { body: { name: 'temp', workspace_ids: [wsA] } });
    expect((await call('GET', '/v1/tasks', { key: k.body.key })).status).toBe(200);
    expect((await call('DELETE', `/v1/api-keys/${k.body.id}`)).status).toBe(200);
    expect((await call('GET', '/v1/tasks', { key: k.body.key })).status).toBe(401);
  });
});

describe('POST /v1/jobs/{queue}/{job}', () => {
  it('enqueues, returns the task id and where to poll, and the poll shows the pending task', async () => {
    const r = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      key: keyA,
      body: rollup(wsA, { priority: 3 }),
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      queue: 'analytics_queue',
      job: 'daily_analytics_rollup',
      created: true,
      status: 'pending',
    });
    expect(r.body.task_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('location')).toBe(r.body.status_url);
    const poll = await call('GET', r.body.status_url, { key: keyA });
    expect(poll.status).toBe(200);
    expect(poll.body.task.id).toBe(r.body.task_id);
    expect(poll.body.job).toMatchObject({ state: 'delayed', priority: 3 });
    expect((await call('GET', `/v1/tasks/${r.body.task_id}`, { key: keyA })).body.job_id).toBe(r.body.job_id);
  });

  it('answers 400 naming every bad field', async () => {
    const r = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      body: { payload: { workspace_id: 'kh72b1cng9h88691sx4x7krt2h7v7deh', date: '2026-13-45', extra: 1 } },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'date',
      'extra',
      'workspace_id',
    ]);
    const body = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      body: { payload: { workspace_id: wsA }, delay: 5, priority: 'high' },
    });
    expect(body.status).toBe(400);
    expect(body.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['delay', 'priority']);
    const range = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      body: { payload: { workspace_id: wsA }, priority: 0 },
    });
    expect(range.body.error.fields[0].field).toBe('priority');
    const json = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { raw: '{"payload": ' });
    expect(json.status).toBe(400);
    expect(json.body.error.code).toBe('invalid_input');
    const missing = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { body: {} });
    expect(missing.body.error.fields).toEqual([{ field: 'payload', message: 'is required' }]);
  });

  it('answers 404 for an unknown queue or job', async () => {
    const q = await call('POST', '/v1/jobs/nope_queue/x', { body: { payload: {} } });
    expect(q.status).toBe(404);
    expect(q.body.error.message).toMatch(/known queues: .*analytics_queue/);
    const j = await call('POST', '/v1/jobs/analytics_queue/nope', { body: { payload: {} } });
    expect(j.status).toBe(404);
  });

  it('answers 413 for a body over the limit and for a payload over its queue limit', async () => {
    const huge = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      raw: JSON.stringify({ payload: { workspace_id: wsA, pad: 'x'.repeat(1_100_000) } }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    const overQueue = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      body: { payload: { workspace_id: wsA, date: 'x'.repeat(20_000) } },
    });
    expect(overQueue.status).toBe(413);
    expect(overQueue.body.error.message).toMatch(/limit for analytics_queue is 16384 bytes/);
  });

  it('returns the first task for a repeated idempotency key, never a second job', async () => {
    const headers = { 'idempotency-key': `order-${Date.now()}` };
    const body = rollup(wsA, { payload: { workspace_id: wsA, date: '2026-03-03' } });
    const [a, b] = await Promise.all([
      call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { key: keyA, body, headers }),
      call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { key: keyA, body, headers }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.job_id).toBe(b.body.job_id);
    const c = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { key: keyA, body, headers });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ job_id: a.body.job_id, created: false, task_id: a.body.task_id });
    const rows = await tdb.db
      .selectFrom('autonomous_tasks')
      .select('job_id')
      .where(sql<boolean>`input_data->>'date' = '2026-03-03'`)
      .execute();
    expect(rows).toHaveLength(1);
    const other = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      key: keyA,
      body: rollup(wsA, { payload: { workspace_id: wsA, date: '2026-03-04' } }),
      headers,
    });
    expect(other.status).toBe(409);
    expect(other.body.error.message).toMatch(/different request/);
  });
});

describe('workspace isolation', () => {
  it('lets a key for workspace A neither read nor enqueue for workspace B', async () => {
    const enqueueB = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      key: keyA,
      body: rollup(wsB),
    });
    expect(enqueueB.status).toBe(403);
    expect(enqueueB.body.error.message).toContain(wsB);
    const fleet = await call('POST', '/v1/jobs/maintenance_queue/system_health_check', {
      key: keyA,
      body: { payload: {} },
    });
    expect(fleet.status).toBe(403);

    const byAdmin = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', { body: rollup(wsB) });
    expect(byAdmin.status).toBe(201);
    expect((await call('GET', `/v1/tasks/${byAdmin.body.job_id}`, { key: keyA })).status).toBe(404);
    expect((await call('GET', `/v1/tasks/${byAdmin.body.task_id}`, { key: keyA })).status).toBe(404);
    expect((await call('POST', `/v1/tasks/${byAdmin.body.job_id}/cancel`, { key: keyA })).status).toBe(404);
    expect((await call('POST', `/v1/tasks/${byAdmin.body.job_id}/retry`, { key: keyA })).status).toBe(404);
    expect((await call('GET', `/v1/tasks?workspace_id=${wsB}`, { key: keyA })).status).toBe(403);
    expect((await call('GET', `/v1/summary?workspace_id=${wsB}`, { key: keyA })).status).toBe(403);
    expect((await call('GET', `/v1/stats?workspace_id=${wsB}`, { key: keyA })).status).toBe(403);

    const mine = await call('GET', '/v1/tasks?limit=500', { key: keyA });
    expect(mine.status).toBe(200);
    expect(mine.body.tasks.length).toBeGreaterThan(0);
    expect(mine.body.tasks.every((t: { workspace_id: string }) => t.workspace_id === wsA)).toBe(true);
    // Still in the queue: the scoped key's cancel did nothing.
    expect((await call('GET', `/v1/tasks/${byAdmin.body.job_id}`)).body.job.state).toBe('delayed');
  });
});

describe('GET /v1/tasks', () => {
  it('pages newest first, stable while rows are inserted', async () => {
    const [ws] = (await seedWorkspaces(tdb.db, 1)) as [string];
    await seedRows(
      logger,
      Array.from({ length: 9 }, () => ({ workspaceId: ws })),
    );
    const seen: string[] = [];
    let url = `/v1/tasks?workspace_id=${ws}&limit=4`;
    for (;;) {
      const page = await call('GET', url);
      expect(page.status).toBe(200);
      seen.push(...page.body.tasks.map((t: { id: string }) => t.id));
      await seedRows(logger, [{ workspaceId: ws }, { workspaceId: ws }, { workspaceId: ws }]);
      if (!page.body.next_cursor) break;
      url = `/v1/tasks?workspace_id=${ws}&limit=4&cursor=${page.body.next_cursor}`;
    }
    expect(seen).toHaveLength(9);
    expect(new Set(seen).size).toBe(9);
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM autonomous_tasks WHERE workspace_id = ${ws} ORDER BY created_at DESC, id DESC`.execute(tdb.db);
    expect(seen).toEqual(rows.slice(-9).map((r) => r.id));
  });

  it('filters by type, status and window, and answers 400 for bad filters', async () => {
    const [ws] = (await seedWorkspaces(tdb.db, 1)) as [string];
    await seedRows(logger, [
      { workspaceId: ws, taskType: 'email_sync', status: 'failed', errorMessage: 'token expired' },
      { workspaceId: ws, taskType: 'email_sync' },
      { workspaceId: ws, taskType: 'lead_scoring_batch', status: 'failed' },
    ]);
    const r = await call('GET', `/v1/tasks?workspace_id=${ws}&task_type=email_sync&status=failed`);
    expect(r.body.tasks).toHaveLength(1);
    expect(r.body.tasks[0].error_message).toBe('token expired');
    const later = await call(
      'GET',
      `/v1/tasks?workspace_id=${ws}&since=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    expect(later.body.tasks).toHaveLength(0);
    const until = await call(
      'GET',
      `/v1/tasks?workspace_id=${ws}&until=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    expect(until.body.tasks).toHaveLength(3);
    const bad = await call('GET', '/v1/tasks?status=done&limit=9999&since=yesterday&colour=red');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'colour',
      'limit',
      'since',
      'status',
    ]);
    expect((await call('GET', '/v1/tasks?cursor=bm9wZQ')).status).toBe(400);
    expect((await call('GET', '/v1/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('GET /v1/summary and /v1/queues', () => {
  it('returns get_autonomous_task_summary figures', async () => {
    const [ws] = (await seedWorkspaces(tdb.db, 1)) as [string];
    await seedRows(logger, [
      { workspaceId: ws, taskType: 'email_sync', durationMs: 2_000, costUsd: 0.1 },
      { workspaceId: ws, taskType: 'email_sync', durationMs: 4_000, costUsd: 0.2, status: 'partial_failure' },
      { workspaceId: ws, taskType: 'email_sync', startedMinutesAgo: 60 * 5 },
    ]);
    const r = await call('GET', `/v1/summary?workspace_id=${ws}&task_type=email_sync&hours=2`);
    expect(r.status).toBe(200);
    const { rows } = await sql<Record<string, unknown>>`
      SELECT * FROM get_autonomous_task_summary(${ws}::uuid, 'email_sync', 2)`.execute(tdb.db);
    expect(r.body.summary).toHaveLength(1);
    expect(r.body.summary[0]).toMatchObject({
      task_type: 'email_sync',
      total_executions: Number(rows[0]!.total_executions),
      successful_executions: 1,
      failed_executions: 1,
      avg_duration_ms: Number(rows[0]!.avg_duration_ms),
      total_cost_usd: rows[0]!.total_cost_usd,
    });
    const bad = await call('GET', '/v1/summary?workspace_id=kh72b1cng9h88691sx4x7krt2h7v7deh&hours=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['hours', 'workspace_id']);
    expect((await call('GET', '/v1/summary')).body.error.fields[0]).toEqual({
      field: 'workspace_id',
      message: 'is required',
    });
  });

  it('lists live counts of every queue, to the admin key only', async () => {
    const scoped = await call('GET', '/v1/queues', { key: keyA });
    expect(scoped.status).toBe(403);
    expect(scoped.body.error.message).toMatch(/fleet-wide queue counts needs the admin key/);
    const before = await call('GET', '/v1/queues');
    const media = (b: typeof before) =>
      b.body.queues.find((q: { queue: string }) => q.queue === 'media_transcription_queue');
    await call('POST', '/v1/jobs/media_transcription_queue/media_transcription', {
      body: { payload: { workspace_id: wsA, media_file_id: '5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f' } },
    });
    const after = await call('GET', '/v1/queues');
    expect(after.body.queues.map((q: { queue: string }) => q.queue).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(media(after).waiting).toBe(media(before).waiting + 1);
    expect(media(after).oldest_waiting_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('cancel and retry', () => {
  let agent: RunningAgent;
  let mode: 'block' | 'fail' | 'ok' = 'ok';
  const started: string[] = [];

  beforeAll(async () => {
    agent = await startAgent(
      defineAgent({
        name: 'cp-test-agent',
        queue: 'maintenance_queue',
        concurrency: 4,
        handlers: {
          system_health_check: async (_payload, ctx) => {
            started.push(String(ctx.job.id));
            if (mode === 'fail') throw new PermanentError('disk on fire');
            if (mode === 'block') {
              await new Promise((_, reject) =>
                ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
              );
            }
            return { output: { ok: true } };
          },
          data_cleanup: async () => ({ output: {} }),
        },
      }),
      {
        env: {
          DATABASE_URL: tdb.url,
          REDIS_URL: tredis.url,
          QUEUE_PREFIX: tredis.prefix,
          HTTP_PORT: '0',
          HTTP_HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
          LOG_PRETTY: 'false',
          METRICS_PROCESS: 'false',
        },
      },
    );
  });
  afterAll(async () => {
    await agent?.close(2_000);
  });

  const rowsOf = (jobId: string) =>
    tdb.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();

  it('removes a waiting job (200) and then refuses a second cancel (409)', async () => {
    const r = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      key: keyA,
      body: { payload: { workspace_id: wsA }, delay_ms: 600_000 },
    });
    const c = await call('POST', `/v1/tasks/${r.body.job_id}/cancel`, { key: keyA, body: { reason: 'duplicate' } });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ outcome: 'cancelled', action: 'removed', attempt: 1 });
    expect(c.body.message).toMatch(/^cancelled: removed job/);
    const rows = await rowsOf(r.body.job_id);
    expect(rows.map((x) => x.status)).toEqual(['cancelled']);
    expect(rows[0]!.error_message).toMatch(/duplicate/);
    const again = await call('POST', `/v1/tasks/${r.body.job_id}/cancel`, { key: keyA });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already finished/);
    const bad = await call('POST', `/v1/tasks/${r.body.job_id}/cancel`, { key: keyA, body: { why: 'x' } });
    expect(bad.status).toBe(400);
  });

  it('cancels an active job through its worker and answers once the worker recorded it (200)', async () => {
    mode = 'block';
    const r = await call('POST', '/v1/jobs/maintenance_queue/system_health_check', { body: { payload: {} } });
    await waitFor(() => started.includes(r.body.job_id), { what: 'job to start' });
    const c = await call('POST', `/v1/tasks/${r.body.job_id}/cancel`, { body: { reason: 'operator test' } });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ outcome: 'cancelled', action: 'aborted', receivers: 1, attempt: 1 });
    const rows = await rowsOf(r.body.job_id);
    expect(rows.map((x) => x.status)).toEqual(['cancelled']);
    expect(rows[0]!.error_message).toMatch(/operator test/);
    mode = 'ok';
  });

  it('retries a failed job in place (200) and re-enqueues a completed one (201)', async () => {
    mode = 'fail';
    const r = await call('POST', '/v1/jobs/maintenance_queue/system_health_check', { body: { payload: {} } });
    await waitFor(async () => (await rowsOf(r.body.job_id)).some((x) => x.status === 'failed'), { what: 'failure' });
    await waitFor(async () => (await call('GET', `/v1/tasks/${r.body.job_id}`)).body.job?.state === 'failed', {
      what: 'job failed in BullMQ',
    });
    mode = 'ok';
    const retried = await call('POST', `/v1/tasks/${r.body.job_id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ action: 'retried', job_id: r.body.job_id });
    const rows = await waitFor(
      async () => {
        const all = await rowsOf(r.body.job_id);
        return all.some((x) => x.status === 'completed') ? all : undefined;
      },
      { what: 'second attempt' },
    );
    expect(rows.map((x) => [x.attempt, x.status])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);

    const again = await call('POST', `/v1/tasks/${r.body.job_id}/retry`);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ action: 'requeued', previous_job_id: r.body.job_id });
    const next = await waitFor(async () => (await rowsOf(again.body.job_id)).find((x) => x.status === 'completed'), {
      what: 'requeued job to complete',
    });
    expect(next.triggered_by).toBe('retry');
  });

  it('refuses to retry a job that is still queued (409)', async () => {
    const r = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      body: { payload: { workspace_id: wsA }, delay_ms: 600_000 },
    });
    const c = await call('POST', `/v1/tasks/${r.body.job_id}/retry`);
    expect(c.status).toBe(409);
    expect(c.body.error.message).toMatch(/delayed/);
  });
});

describe('hostile input', () => {
  it('treats a malformed session cookie as no session (401)', async () => {
    const r = await call('GET', '/v1/tasks', { key: null, headers: { cookie: 'fleet_session=%E0%A4%A' } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  });

  it('answers 400 naming the field for NUL and control characters in ids, filters and bodies', async () => {
    const cases: [string, string, { body?: unknown }, string][] = [
      ['GET', '/v1/tasks/a%00b', {}, 'id'],
      ['GET', '/v1/tasks?job_id=a%00b', {}, 'job_id'],
      ['GET', '/v1/tasks?queue=%1B%5B2J', {}, 'queue'],
      ['GET', `/v1/tasks/${'x'.repeat(10)}?queue=a%00`, {}, 'queue'],
      ['DELETE', '/v1/api-keys/k%00', {}, 'id'],
      ['POST', '/v1/tasks/x/cancel', { body: { reason: 'a\u0000b' } }, 'reason'],
      ['POST', '/v1/api-keys', { body: { name: 'n\u0007', workspace_ids: [wsA] } }, 'name'],
    ];
    for (const [method, path, options, field] of cases) {
      const r = await call(method, path, options);
      expect(r.status, path).toBe(400);
      expect(r.body.error.fields?.[0]?.field, path).toBe(field);
      expect(r.body.error.message, path).toMatch(/control characters \(found U\+00/);
    }
  });

  it('answers 400 for times outside 1970-9999 and for days that do not exist', async () => {
    for (const since of ['-271821-04-20T00:00:00Z', '1969-12-31T23:59:59Z', '2026-02-31T00:00:00Z', '0x10']) {
      const r = await call('GET', `/v1/tasks?since=${encodeURIComponent(since)}`);
      expect(r.status, since).toBe(400);
      expect(r.body.error.fields[0].field).toBe('since');
    }
    const rollup = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', {
      body: { payload: { workspace_id: wsA, date: '1969-12-31' } },
    });
    expect(rollup.status).toBe(400);
    expect(rollup.body.error.fields).toEqual([{ field: 'date', message: 'must be between 1970 and 9999' }]);
  });

  it('answers fastify’s and Node’s own errors in the project’s JSON shape', async () => {
    const badUrl = await call('GET', '/v1/tasks/%E0%A4%A');
    expect(badUrl.status).toBe(400);
    expect(badUrl.body).toEqual({
      error: { code: 'invalid_input', message: 'the URL is not valid: a percent-escape does not decode to UTF-8' },
    });
    const badQuery = await call('GET', '/v1/tasks?job_id=%E0%A4%A');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error.fields[0].field).toBe('job_id');
    const longUrl = await call('GET', `/v1/tasks?job_id=${'x'.repeat(9_000)}`);
    expect(longUrl.status).toBe(414);
    expect(longUrl.body.error.code).toBe('uri_too_long');
    const longParam = await call('GET', `/v1/tasks/${'x'.repeat(600)}`);
    expect(longParam.status).toBe(414);
    expect(longParam.body.error.code).toBe('uri_too_long');
    const headers = await rawRequest(
      cp.port,
      `GET /v1/tasks HTTP/1.1\r\nHost: x\r\nX-Pad: ${'x'.repeat(20_000)}\r\n\r\n`,
    );
    expect(headers.status).toBe(431);
    expect(JSON.parse(headers.body).error.code).toBe('headers_too_large');
    const garbage = await rawRequest(cp.port, 'GARBAGE\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body).error.code).toBe('invalid_input');
    const charset = await call('POST', '/v1/tasks/x/cancel', {
      raw: '{}',
      headers: { 'content-type': 'application/json; charset=utf-16' },
    });
    expect(charset.status).toBe(415);
    expect(charset.body.error.code).toBe('unsupported_media_type');
  });
});

describe('rate limiting, routing and documents', () => {
  it('answers 429 with JSON once a key exceeds its rate', async () => {
    const limited = await startControlPlane({
      env: controlPlaneEnv(tdb.url, tredis.url, `${tredis.prefix}-rl`, { RATE_LIMIT_PER_MINUTE: '3' }),
    });
    try {
      const c = client(limited.url);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await c('GET', '/v1/tasks', { key: keyA })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const r = await c('GET', '/v1/tasks', { key: keyA });
      expect(r.body.error.code).toBe('rate_limited');
      expect(r.headers.get('retry-after')).toBeTruthy();
      // Another key has its own budget.
      expect((await c('GET', '/v1/queues', { key: ADMIN_KEY })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('answers unknown routes with a JSON 404 and serves health and the OpenAPI document', async () => {
    const r = await call('GET', '/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
    expect((await call('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok', instance: expect.any(String) });
    expect((await call('GET', '/readyz', { key: null })).status).toBe(200);
    const doc = await call('GET', '/openapi.json', { key: null });
    expect(doc.body.openapi).toBe('3.1.0');
    const op = doc.body.paths['/v1/jobs/analytics_queue/daily_analytics_rollup'].post;
    const payload = op.requestBody.content['application/json'].schema.properties.payload;
    expect(payload.required).toEqual(['workspace_id']);
    expect(payload.additionalProperties).toBe(false);
    expect(Object.keys(payload.properties)).toEqual(expect.arrayContaining(['workspace_id', 'date', 'triggered_by']));
    // Creating a key has a request schema: no guessing the body.
    const createKey = doc.body.paths['/v1/api-keys'].post.requestBody.content['application/json'].schema;
    expect(createKey.required).toEqual(['name', 'workspace_ids']);
    expect(createKey.additionalProperties).toBe(false);
    expect(createKey.properties.workspace_ids).toMatchObject({ type: 'array', minItems: 1 });
    expect(createKey.properties.workspace_ids.items.format).toBe('uuid');
  });

  it('signs the dashboard in with a key, and refuses cross-site writes with the session cookie', async () => {
    const bad = await fetch(`${cp.url}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'key=wrong',
      redirect: 'manual',
    });
    expect(bad.status).toBe(401);
    const login = await fetch(`${cp.url}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `key=${encodeURIComponent(keyA)}`,
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await fetch(`${cp.url}/dashboard`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('/admin/queues/');
    const cross = await fetch(`${cp.url}/v1/tasks/x/cancel`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(cross.status).toBe(403);
    const forged = await fetch(`${cp.url}/dashboard`, { headers: { cookie: `${cookie.slice(0, -3)}abc` } });
    expect(forged.status).toBe(401);
  });
});
