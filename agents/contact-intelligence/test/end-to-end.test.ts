import type { Database } from '@fleet/db';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  insertContact,
  insertEmail,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import agentDefinition from '../src/index.ts';
import { personBody, type StubProvider, startStubProvider } from './stub-provider.ts';

const API_KEY = 'sk_e2e_enrichment_secret';
let t: TestDatabase;
let db: Kysely<Database>;
let r: TestRedis;
let stub: StubProvider;
let producer: Producer;
let agent: RunningAgent;

beforeAll(async () => {
  t = await createTestDatabase('ci_agent_e2e');
  db = t.db;
  r = createTestRedis('contact-e2e');
  stub = await startStubProvider(API_KEY, {
    'dana@northwind.io': {
      status: 200,
      body: personBody({ given: 'Dana', family: 'Scully', title: 'Director of IT', company: 'Northwind' }),
    },
    'flaky@northwind.io': { status: 503 },
  });
  producer = createProducer({ redis: r.url, prefix: r.prefix, db });
  agent = await startAgent(agentDefinition, {
    env: {
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      LOG_PRETTY: 'false',
      METRICS_PROCESS: 'false',
      ENRICHMENT_PROVIDER: 'http',
      ENRICHMENT_BASE_URL: stub.url,
      ENRICHMENT_API_KEY: API_KEY,
      ENRICHMENT_COST_PER_MATCH_USD: '0.025',
      ENRICHMENT_DEFAULT_COUNTRY: 'GB',
    },
  });
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await stub?.close();
  await r?.cleanup();
  await t?.drop();
});

async function terminalRow(jobId: string) {
  return waitFor(
    async () => {
      const row = await db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).executeTakeFirst();
      return row && !['pending', 'running'].includes(row.status) ? row : undefined;
    },
    { timeoutMs: 15_000, what: `terminal audit row of job ${jobId}` },
  );
}

describe('contact-intelligence agent through its queue', () => {
  it('scores a workspace: completed audit row with counts and zero cost', async () => {
    const ws = await createWorkspace(db);
    const hot = await insertContact(db, ws, {
      job_title: 'CEO',
      first_name: 'A',
      last_name: 'B',
      company: 'C',
      phone: '1',
    });
    for (let i = 0; i < 12; i++) {
      await insertEmail(db, ws, {
        contact_id: hot,
        direction: 'inbound',
        sent_at: new Date(Date.now() - i * 3_600_000),
      });
    }
    await insertContact(db, ws);
    const job = await producer.enqueue('contact_intelligence_queue', 'lead_scoring_batch', { workspace_id: ws });
    const row = await terminalRow(job.jobId);
    expect(row).toMatchObject({
      status: 'completed',
      workspace_id: ws,
      task_type: 'lead_scoring_batch',
      agent_name: 'contact-intelligence',
      cost_estimate_usd: '0.000000',
      error_message: null,
    });
    expect(row.output_data).toMatchObject({ contacts_scored: 2, newly_scored: 2, tier_changes: 0, failed_count: 0 });
    const scored = await db
      .selectFrom('contacts')
      .select(['lead_score', 'lead_tier'])
      .where('id', '=', hot)
      .executeTakeFirstOrThrow();
    expect(scored.lead_score).toBeGreaterThan(0);
  });

  it('enriches through the provider: partial_failure naming the failed contact, cost of the matches', async () => {
    const ws = await createWorkspace(db);
    const dana = await insertContact(db, ws, { email: 'dana@northwind.io', phone: '020 7946 0958' });
    const flaky = await insertContact(db, ws, { email: 'flaky@northwind.io' });
    const job = await producer.enqueue('contact_intelligence_queue', 'contact_enrichment', {
      workspace_id: ws,
      contact_ids: [dana, flaky],
    });
    const row = await terminalRow(job.jobId);
    expect(row).toMatchObject({ status: 'partial_failure', cost_estimate_usd: '0.025000' });
    expect(row.error_message).toContain(flaky);
    expect(row.output_data).toMatchObject({
      contacts_processed: 2,
      enriched: 2,
      failed_count: 1,
      failed: [{ contact_id: flaky, reason: 'provider error (HTTP 503)' }],
      provider: { name: 'http', lookups: 2, found: 1, errors: 1 },
    });
    expect(
      await db
        .selectFrom('contacts')
        .select(['job_title', 'phone_e164', 'company'])
        .where('id', '=', dana)
        .executeTakeFirstOrThrow(),
    ).toEqual({ job_title: 'Director of IT', phone_e164: '+442079460958', company: 'Northwind' });
    // The API key never lands in the audit trail.
    expect(JSON.stringify(row)).not.toContain(API_KEY);
  });

  it('fails a job for a workspace with invalid scoring settings once, naming the setting', async () => {
    const ws = await createWorkspace(db, { settings: { lead_scoring: { tiers: { hot: 150 } } } });
    const job = await producer.enqueue('contact_intelligence_queue', 'lead_scoring_batch', { workspace_id: ws });
    const row = await terminalRow(job.jobId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toContain('settings.lead_scoring.tiers.hot: must be between 0 and 100');
    expect(
      await db.selectFrom('autonomous_tasks').select('attempt').where('job_id', '=', job.jobId).execute(),
    ).toHaveLength(1);
  });
});
