import { randomBytes } from 'node:crypto';
import analytics from '@fleet/agent-analytics';
import contactIntelligence from '@fleet/agent-contact-intelligence';
import contentCalendar from '@fleet/agent-content-calendar';
import continuousIntelligence from '@fleet/agent-continuous-intelligence';
import emailIntegration from '@fleet/agent-email-integration';
import { addMailAccount } from '@fleet/agent-email-integration/mail-accounts';
import mediaTranscription from '@fleet/agent-media-transcription';
import scheduler from '@fleet/agent-scheduler';
import socialPublisher from '@fleet/agent-social-publisher';
import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { catalog, QUEUE_NAMES } from '@fleet/catalog';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { enqueueOperationId } from '../src/routes/api.ts';
import { seedTenant, snapshotWorkspace, startRecorder, type Tenant } from './cross-tenant-fixture.ts';
import { client, controlPlaneEnv } from './helpers.ts';

/**
 * Workspace A's key against workspace B: every API operation against B's ids and data, every job
 * type enqueued with B's and with A's workspace id (and B's row ids inside A's payloads), the
 * dashboard; then the real agents run every job that was accepted. B's audit rows and domain data
 * must be unchanged, and no answer to A may carry B's data or fleet-wide figures.
 */
let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let logger: AuditWriter;
let recorder: Awaited<ReturnType<typeof startRecorder>>;
const agents: RunningAgent[] = [];
let a: Tenant;
let b: Tenant;
let keyA: { key: string; id: string };
let keyB: { key: string; id: string };
/** B's own live work: jobs waiting in Redis. */
const bJobs: { job_id: string; task_id: string; queue: string }[] = [];
const tokenKey = randomBytes(32);

/** Every answer A got, with what A sent (which an answer may echo). */
const seen: { what: string; sent: string; status: number; text: string }[] = [];
const attempted = new Set<string>();
let call: ReturnType<typeof client>;

async function asA(
  op: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; key?: string | null } = {},
) {
  attempted.add(op);
  const r = await call(method, path, { key: keyA.key, ...options });
  seen.push({
    what: `${op} ${method} ${path}`,
    sent: `${path} ${JSON.stringify(options.body ?? '')}`,
    status: r.status,
    text: r.text,
  });
  return r;
}

beforeAll(async () => {
  tdb = await createTestDatabase('cp_tenants');
  tredis = createTestRedis('cp-tenants');
  recorder = await startRecorder();
  cp = await startControlPlane({
    env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix, { RATE_LIMIT_PER_MINUTE: '100000' }),
  });
  call = client(cp.url);
  logger = createAuditWriter({ db: tdb.db });
  const seedOpts = (label: string) => ({
    label,
    addMailAccount: (workspaceId: string, emailAddress: string, refreshToken: string) =>
      addMailAccount(tdb.db, tokenKey, { workspaceId, emailAddress, refreshToken }),
    mediaUrl: (name: string) => `${recorder.url}/media/${name}`,
    calendarUrl: (name: string) => `${recorder.url}/caldav/${name}/`,
  });
  a = await seedTenant(tdb.db, logger, seedOpts('a'));
  b = await seedTenant(tdb.db, logger, seedOpts('b'));
  keyA = (await call('POST', '/v1/api-keys', { body: { name: 'A', workspace_ids: [a.workspaceId] } })).body;
  keyB = (await call('POST', '/v1/api-keys', { body: { name: 'B', workspace_ids: [b.workspaceId] } })).body;
  for (const [path, headers] of [
    ['/v1/jobs/analytics_queue/monthly_summary', {}],
    ['/v1/jobs/contact_intelligence_queue/lead_scoring_batch', { 'idempotency-key': 'order-1' }],
  ] as const) {
    const r = await call('POST', path, {
      key: keyB.key,
      headers,
      body: { payload: { workspace_id: b.workspaceId }, delay_ms: 3_600_000 },
    });
    expect(r.status).toBe(201);
    bJobs.push(r.body);
  }

  const base = {
    DATABASE_URL: tdb.url,
    REDIS_URL: tredis.url,
    QUEUE_PREFIX: tredis.prefix,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    LOG_PRETTY: 'false',
    METRICS_PROCESS: 'false',
    RECONCILE_INTERVAL_MS: '1000',
  };
  const noSchedules = Object.fromEntries(
    [
      'continuous_intelligence',
      'email_sync',
      'lead_scoring',
      'contact_enrichment',
      'daily_analytics_rollup',
      'weekly_report',
      'monthly_summary',
      'campaign_optimization',
      'social_media_posting',
      'system_health_check',
      'data_cleanup',
      'content_calendar_sync',
    ].map((s) => [`SCHEDULE_${s.toUpperCase()}_CRON`, 'off']),
  );
  const definitions = [
    [analytics, {}],
    [contactIntelligence, {}],
    [continuousIntelligence, { INTELLIGENCE_PROVIDER: 'heuristic' }],
    [
      emailIntegration,
      {
        GOOGLE_CLIENT_ID: 'client',
        GOOGLE_CLIENT_SECRET: 'client-secret',
        GOOGLE_OAUTH_TOKEN_URL: `${recorder.url}/token`,
        GMAIL_API_BASE_URL: `${recorder.url}/gmail/v1`,
        MAIL_TOKEN_ENCRYPTION_KEY: tokenKey.toString('base64'),
      },
    ],
    [
      mediaTranscription,
      {
        TRANSCRIPTION_BASE_URL: `${recorder.url}/v1`,
        TRANSCRIPTION_API_KEY: 'sk-test',
        MEDIA_ALLOWED_HOSTS: '127.0.0.1',
      },
    ],
    [contentCalendar, { MAIL_TOKEN_ENCRYPTION_KEY: tokenKey.toString('base64'), CALDAV_ALLOWED_HOSTS: '127.0.0.1' }],
    [socialPublisher, { MAIL_TOKEN_ENCRYPTION_KEY: tokenKey.toString('base64'), SOCIAL_ALLOWED_HOSTS: '127.0.0.1' }],
    // The scheduler runs with every schedule off: only jobs enqueued here reach maintenance_queue.
    [scheduler, noSchedules],
  ] as const;
  for (const [definition, extra] of definitions) {
    agents.push(await startAgent(definition as never, { env: { ...base, ...extra } }));
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close(5_000)));
  await logger?.close();
  await cp?.close();
  await recorder?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

/** Payload fields of each job besides workspace_id: B's row ids where a job takes ids. */
function payloadFor(job: string, ws: string, ids: Tenant): Record<string, unknown> {
  const extra: Record<string, Record<string, unknown>> = {
    lead_scoring_batch: { contact_ids: ids.contactIds },
    contact_enrichment: { contact_ids: ids.contactIds },
    email_sync: { account_id: ids.accountId },
    media_transcription: { media_file_id: ids.mediaFileId },
    content_calendar_sync: { calendar_id: ids.calendarId },
    daily_analytics_rollup: { date: '2026-01-01' },
    data_cleanup: { retention_days: 1 },
  };
  return { workspace_id: ws, ...(extra[job] ?? {}) };
}

describe('workspace A’s key against workspace B', () => {
  it('changes nothing of B, sees nothing of B and no fleet-wide figure', { timeout: 120_000 }, async () => {
    const before = await snapshotWorkspace(tdb.db, b.workspaceId);
    const aBefore = await snapshotWorkspace(tdb.db, a.workspaceId);
    const doc = (await call('GET', '/openapi.json', { key: null })).body;
    // The operations a key is for (the probes and the document itself are public: `security: []`).
    const operations = Object.values(
      doc.paths as Record<string, Record<string, { operationId: string; security?: unknown[] }>>,
    ).flatMap((item) =>
      Object.values(item)
        .filter((op) => op.security?.length !== 0)
        .map((op) => op.operationId),
    );
    const accepted: { queue: string; job_id: string }[] = [];
    const jobTypes: string[] = [];

    // Every job type, with B's workspace id, and with A's (carrying B's ids, then A's own).
    for (const queue of QUEUE_NAMES) {
      for (const [job, def] of Object.entries(catalog[queue].jobs)) {
        jobTypes.push(job);
        const op = enqueueOperationId(job);
        const path = `/v1/jobs/${queue}/${job}`;
        expect((await asA(op, 'POST', path, { body: { payload: payloadFor(job, b.workspaceId, b) } })).status).toBe(
          403,
        );
        for (const ids of [b, a]) {
          const r = await asA(op, 'POST', path, { body: { payload: payloadFor(job, a.workspaceId, ids) } });
          expect(r.status, `${job} for A with ${ids === b ? 'B' : 'A'}’s ids`).toBe(def.scope === 'fleet' ? 403 : 201);
          if (r.status === 201) accepted.push(r.body);
        }
      }
    }
    expect(
      (
        await asA(
          'enqueueContinuousIntelligenceUpdate',
          'POST',
          '/v1/jobs/continuous_intelligence_queue/continuous_intelligence_update',
          { body: { payload: {} } },
        )
      ).status,
    ).toBe(403);
    // The same idempotency key as B's is A's own key: a new job, not B's.
    const sameKey = await asA(
      'enqueueLeadScoringBatch',
      'POST',
      '/v1/jobs/contact_intelligence_queue/lead_scoring_batch',
      {
        headers: { 'idempotency-key': 'order-1' },
        body: { payload: { workspace_id: a.workspaceId } },
      },
    );
    expect(sameKey.status).toBe(201);
    expect(sameKey.body.job_id).not.toBe(bJobs[1]!.job_id);
    accepted.push(sameKey.body);

    // Reads and actions on B's rows and jobs.
    const bIds = [...b.rowIds, ...b.jobIds, ...bJobs.flatMap((j) => [j.job_id, j.task_id])];
    for (const id of bIds) {
      expect((await asA('getTask', 'GET', `/v1/tasks/${id}`)).status).toBe(404);
      expect(
        (await asA('cancelTask', 'POST', `/v1/tasks/${id}/cancel`, { body: { reason: 'A was here' } })).status,
      ).toBe(404);
      expect((await asA('retryTask', 'POST', `/v1/tasks/${id}/retry`)).status).toBe(404);
    }
    for (const j of bJobs) {
      expect((await asA('getTask', 'GET', `/v1/tasks/${j.job_id}?queue=${j.queue}`)).status).toBe(404);
    }
    expect((await asA('listTasks', 'GET', `/v1/tasks?workspace_id=${b.workspaceId}`)).status).toBe(403);
    for (const id of b.jobIds.slice(0, 3)) {
      expect((await asA('listTasks', 'GET', `/v1/tasks?job_id=${id}`)).body.tasks).toEqual([]);
    }
    const mine = await asA('listTasks', 'GET', '/v1/tasks?limit=500');
    expect(mine.status).toBe(200);
    expect(new Set(mine.body.tasks.map((t: { workspace_id: string }) => t.workspace_id))).toEqual(
      new Set([a.workspaceId]),
    );
    expect((await asA('getSummary', 'GET', `/v1/summary?workspace_id=${b.workspaceId}`)).status).toBe(403);
    expect((await asA('getSummary', 'GET', `/v1/summary?workspace_id=${a.workspaceId}&hours=8784`)).status).toBe(200);
    expect((await asA('getStats', 'GET', `/v1/stats?workspace_id=${b.workspaceId}`)).status).toBe(403);
    expect((await asA('listQueues', 'GET', '/v1/queues')).status).toBe(403);
    expect((await asA('listApiKeys', 'GET', '/v1/api-keys')).status).toBe(403);
    for (const ws of [a.workspaceId, b.workspaceId]) {
      expect(
        (await asA('createApiKey', 'POST', '/v1/api-keys', { body: { name: 'mine', workspace_ids: [ws] } })).status,
      ).toBe(403);
    }
    expect((await asA('revokeApiKey', 'DELETE', `/v1/api-keys/${keyB.id}`)).status).toBe(403);
    expect((await asA('bull-board', 'GET', '/admin/queues/api/queues')).status).toBe(403);
    for (const j of bJobs) {
      expect((await asA('bull-board', 'PUT', `/admin/queues/api/queues/${j.queue}/${j.job_id}/promote`)).status).toBe(
        403,
      );
      expect((await asA('bull-board', 'PUT', `/admin/queues/api/queues/${j.queue}/${j.job_id}/clean`)).status).toBe(
        403,
      );
    }

    // The dashboard, signed in with A's key.
    attempted.add('dashboard');
    const login = await fetch(`${cp.url}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `key=${encodeURIComponent(keyA.key)}`,
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    for (const path of [
      '/dashboard',
      '/dashboard/content',
      '/dashboard?hours=8784',
      `/dashboard?workspace_id=${b.workspaceId}`,
    ]) {
      const r = await fetch(`${cp.url}${path}`, { headers: { cookie } });
      const text = await r.text();
      seen.push({ what: `dashboard ${path}`, sent: path, status: r.status, text });
      expect(r.status, path).toBe(path.includes(b.workspaceId) ? 403 : 200);
      if (r.status === 200) {
        expect(text).not.toContain('data-testid="queues"');
        expect(text).toContain(a.canary);
      }
    }

    // The agents run everything A could enqueue.
    const finalStates = await waitFor(
      async () => {
        const states = await Promise.all(
          accepted.map(async (j) => (await call('GET', `/v1/tasks/${j.job_id}?queue=${j.queue}`)).body.job?.state),
        );
        return states.every((s) => s === 'completed' || s === 'failed') ? states : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'every accepted job to finish' },
    );
    expect(finalStates).toHaveLength(accepted.length);
    // The agents did real work for A: scores, insights, rollups and reports of A's changed.
    const aAfter = await snapshotWorkspace(tdb.db, a.workspaceId);
    const changedForA = Object.keys(aAfter).filter((t) => JSON.stringify(aAfter[t]) !== JSON.stringify(aBefore[t]));
    expect(changedForA).toEqual(
      expect.arrayContaining(['analytics_reports', 'contacts', 'daily_analytics', 'email_insights', 'emails']),
    );

    // Stats of A's key: exactly A's rows of workspace jobs (no fleet-wide figure).
    const stats = await asA('getStats', 'GET', '/v1/stats?hours=8784');
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM autonomous_tasks
      WHERE workspace_id = ${a.workspaceId}::uuid AND executed_at >= now() - interval '8784 hours'
        AND task_type NOT IN ('system_health_check', 'data_cleanup')
        AND task_type IN (${sql.join(Object.values(catalog).flatMap((q) => Object.values(q.jobs).map((d) => d.taskType)))})`.execute(
      tdb.db,
    );
    expect(stats.body.totals.total).toBe(Number(rows[0]!.n));

    // B is exactly as it was; its queued jobs are still queued.
    expect(await snapshotWorkspace(tdb.db, b.workspaceId)).toEqual(before);
    for (const j of bJobs) {
      expect((await call('GET', `/v1/tasks/${j.job_id}?queue=${j.queue}`, { key: keyB.key })).body.job.state).toBe(
        'delayed',
      );
    }
    // No provider was asked anything about B.
    const toProviders = JSON.stringify(recorder.requests);
    expect(toProviders).not.toContain(b.canary);
    expect(toProviders).not.toContain(encodeURIComponent(b.refreshToken));
    expect(recorder.requests.length).toBeGreaterThan(0); // A's own sync and media did reach them

    // No answer to A carries B's data: B's canary (in every name, subject, message and output of
    // B's), B's token, or any id of B's that A never sent (what A sends may come back, e.g. in
    // A's own rows' input_data).
    const sentByA = seen.map((s) => s.sent).join('\n');
    const bSecrets = [
      b.canary,
      b.refreshToken,
      b.workspaceId,
      ...b.contactIds,
      b.accountId,
      b.mediaFileId,
      ...bIds,
      keyB.id,
    ];
    const unsent = bSecrets.filter((secret) => !sentByA.includes(secret));
    expect(unsent).toEqual(expect.arrayContaining([b.canary, b.refreshToken]));
    const leaks = seen.flatMap((s) =>
      unsent.filter((secret) => s.text.includes(secret)).map((secret) => `${s.what}: ${secret}`),
    );
    expect(leaks).toEqual([]);
    expect(seen.filter((s) => s.status >= 500).map((s) => s.what)).toEqual([]);

    const covered = operations.filter((op) => attempted.has(op));
    console.log(
      `cross-tenant: ${seen.length} requests as A; ${covered.length} of ${operations.length} API operations plus bull-board and the dashboard; ` +
        `${jobTypes.length} job types × (B's workspace, A's with B's ids, A's own) = ${jobTypes.length * 3} enqueues, ${accepted.length} accepted and run ` +
        `(${finalStates.filter((x) => x === 'completed').length} completed, ${finalStates.filter((x) => x === 'failed').length} failed), A's tables changed: ${changedForA.join(', ')}; ` +
        `${bIds.length} of B's row and job ids tried with get, cancel and retry; ${unsent.length} of B's values never sent by A checked in every answer`,
    );
    expect(covered).toEqual(operations);
  });
});
