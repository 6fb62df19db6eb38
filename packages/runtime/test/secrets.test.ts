import { Writable } from 'node:stream';
import { createProducer, type Producer } from '@fleet/queues';
import {
  adminQuery,
  canary,
  createTestDatabase,
  createTestRedis,
  dumpRedisKeys,
  findCanaries,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { sleep, testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

const CANARY_ENV = 'canary-env-4f1a9d2c7b';
const CANARY_DB_PASSWORD = 'canary-dbpw-8e3b1f';
const CANARY_URL_PASSWORD = 'canary-urlpw-2c9d7a';
const CANARY_PAYLOAD = 'canary-payload-6b2e0f';
const CANARIES = [CANARY_ENV, CANARY_DB_PASSWORD, CANARY_URL_PASSWORD, CANARY_PAYLOAD];
/** A value the handler learns at run time (as if decrypted) and registers with the scrubber. */
const RUNTIME_SECRETS = { decrypted: canary('decrypted'), env: CANARY_ENV };

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let raw: Queue;
let agent: RunningAgent;
let workspaceId: string;
let logText = '';

beforeAll(async () => {
  t = await createTestDatabase('rt_secrets');
  r = createTestRedis('rt-secrets');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  raw = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  // Trust authentication accepts any password, so the canary password really is in use.
  const dbUrl = new URL(t.url);
  dbUrl.password = CANARY_DB_PASSWORD;
  const sink = new Writable({
    write(chunk, _enc, done) {
      logText += chunk.toString();
      done();
    },
  });
  agent = await startAgent(
    testAgent(async (payload, ctx) => {
      const mode = (payload as { retention_days?: number }).retention_days;
      if (mode === 1) {
        // A dependency error that echoes a connection string and the configured key.
        throw new Error(
          `connect to postgres://svc:${CANARY_URL_PASSWORD}@db.internal:5432/x failed (key ${CANARY_ENV})`,
        );
      }
      if (mode === 2) {
        // Postgres errors mid-job: the handler's connection is terminated under it.
        await ctx.db.selectNoFrom((eb) => eb.fn('pg_sleep', [eb.lit(5)]).as('s')).execute();
      }
      if (mode === 4 || mode === 5) {
        // A decrypted token, echoed by a provider raw, URL-encoded and in a form body.
        ctx.registerSecret(RUNTIME_SECRETS.decrypted);
        const echo = `provider said: bad grant ${RUNTIME_SECRETS.decrypted} (${encodeURIComponent(RUNTIME_SECRETS.decrypted)}) body=grant_type=refresh_token&refresh_token=${encodeURIComponent(RUNTIME_SECRETS.decrypted)}&client_secret=${CANARY_ENV}`;
        ctx.log.warn({ detail: echo }, 'provider refused');
        if (mode === 4) throw new Error(echo);
        return { output: { note: echo, nested: [{ why: RUNTIME_SECRETS.decrypted }] } };
      }
      if (mode === 3) {
        ctx.log.info({ apiKey: CANARY_ENV, note: `token=${CANARY_ENV}` }, 'calling provider');
        return {
          output: { access_token: CANARY_ENV, via: `https://user:${CANARY_URL_PASSWORD}@api.example/v1` } as Record<
            string,
            string
          >,
        };
      }
      await sleep(1);
      return { output: { none: null } };
    }),
    {
      env: agentEnv(dbUrl.toString(), r.url, r.prefix, { LOG_LEVEL: 'debug', ANTHROPIC_API_KEY: CANARY_ENV }),
      logDestination: sink,
    },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await raw?.close();
  await r.cleanup();
  await t.drop();
});

async function finished(jobId: string) {
  await waitFor(async () => ['completed', 'failed'].includes(await raw.getJobState(jobId)) || undefined, {
    timeoutMs: 15_000,
    what: `job ${jobId}`,
  });
}

describe('secrets never leave the process', () => {
  it('scrubs env values, URL passwords and secret-named fields from logs and audit rows', async () => {
    const jobs = [
      await producer.enqueue(
        'maintenance_queue',
        'data_cleanup',
        { workspace_id: workspaceId, retention_days: 1 },
        { attempts: 1 },
      ),
      await producer.enqueue(
        'maintenance_queue',
        'data_cleanup',
        { workspace_id: workspaceId, retention_days: 3 },
        { attempts: 1 },
      ),
      // injected directly, with a secret in a field the schema does not know
      await raw.add(
        'data_cleanup',
        { workspace_id: workspaceId, api_token: CANARY_PAYLOAD, retention_days: 3 },
        { attempts: 1 },
      ),
    ];
    const slow = await producer.enqueue(
      'maintenance_queue',
      'data_cleanup',
      { workspace_id: workspaceId, retention_days: 2 },
      { attempts: 1 },
    );
    // Force Postgres errors: terminate the agent's connections while the slow job runs.
    await waitFor(async () => (await raw.getJobState(slow.jobId)) === 'active' || undefined, {
      what: 'slow job active',
    });
    await waitFor(
      async () => {
        const { rows } = await adminQuery(
          t.adminUrl,
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND query ILIKE '%pg_sleep%' AND pid <> pg_backend_pid()`,
          [t.name],
        );
        return rows.length > 0 || undefined;
      },
      { what: 'the sleeping query to be terminated' },
    );
    for (const id of [...jobs.map((j) => ('jobId' in j ? j.jobId : j.id!)), slow.jobId]) await finished(id);

    const rows = await t.db.selectFrom('autonomous_tasks').selectAll().execute();
    expect(rows.length).toBe(4);
    const audit = JSON.stringify(rows);
    const failedRow = rows.find((x) => x.input_data.retention_days === 1)!;
    expect(failedRow.error_message).toBe(
      'connect to postgres://svc:[redacted]@db.internal:5432/x failed (key [redacted])',
    );
    expect(rows.find((x) => x.input_data.retention_days === 2)!.error_message).toMatch(/terminat/);
    expect(rows.find((x) => 'api_token' in x.input_data)!.input_data.api_token).toBe('[redacted]');
    await waitFor(() => logText.includes('job finished') || undefined, { what: 'log lines' });
    for (const canary of CANARIES) {
      expect(audit, `audit rows leak ${canary}`).not.toContain(canary);
      expect(logText, `logs leak ${canary}`).not.toContain(canary);
    }
    // The scrubbed lines are there (so the test would see a leak), just without the secrets.
    expect(logText).toContain('calling provider');
    expect(logText).toContain('[redacted]');
  });

  it('scrubs secrets registered at run time from logs, audit rows and every BullMQ field', async () => {
    // failedReason and stacktrace of a retried and then failed job; returnvalue of a completed one.
    const failing = await raw.add('data_cleanup', { workspace_id: workspaceId, retention_days: 4 }, { attempts: 2 });
    const completing = await raw.add('data_cleanup', { workspace_id: workspaceId, retention_days: 5 }, { attempts: 1 });
    await finished(failing.id!);
    await finished(completing.id!);
    const failedJob = (await raw.getJob(failing.id!))!;
    expect(failedJob.attemptsMade).toBe(2);
    expect(failedJob.failedReason).toContain('provider said: bad grant [redacted] ([redacted])');
    expect(failedJob.failedReason).toContain('refresh_token=[redacted]&client_secret=[redacted]');
    expect(failedJob.stacktrace?.length).toBe(2);
    expect((await raw.getJob(completing.id!))!.returnvalue).toMatchObject({ nested: [{ why: '[redacted]' }] });
    await waitFor(() => (logText.match(/provider refused/g)?.length ?? 0) >= 3 || undefined, { what: 'log lines' });

    const rows = await t.db.selectFrom('autonomous_tasks').selectAll().execute();
    const places = new Map<string, string>([
      ['logs', logText],
      ['audit rows', JSON.stringify(rows)],
      ...[...(await dumpRedisKeys(r.url, r.prefix))].map(([k, v]) => [`redis ${k}`, v] as [string, string]),
    ]);
    expect(places.size).toBeGreaterThan(5);
    expect(findCanaries(RUNTIME_SECRETS, places).hits).toEqual([]);
  });
});
