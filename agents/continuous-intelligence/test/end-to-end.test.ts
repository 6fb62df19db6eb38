import type { Database } from '@fleet/db';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import agentDefinition from '../src/index.ts';
import { type AnthropicStub, insightJson, messageReply, startAnthropicStub } from './anthropic-stub.ts';
import { SAMPLE_EMAILS, seedEmail, seedWorkspace } from './seed.ts';

// claude-e2e is priced only through INTELLIGENCE_MODEL_PRICING: 2 / 10 / 0.2 USD per million.
const USAGE = { input_tokens: 1500, output_tokens: 400, cache_read_input_tokens: 1000 };
const CALL_COST = 0.0072; // 1500 × 2 + 400 × 10 + 1000 × 0.2 = 3000 + 4000 + 200 millionths

let t: TestDatabase;
let db: Kysely<Database>;
let r: TestRedis;
let stub: AnthropicStub;
let producer: Producer;
let agent: RunningAgent;

beforeAll(async () => {
  t = await createTestDatabase('ci_e2e');
  db = t.db;
  r = createTestRedis('ci-e2e');
  stub = await startAnthropicStub((req) =>
    req.body.messages[0]!.content.includes('GARBLED')
      ? messageReply('{"intent": ', USAGE, 'claude-e2e')
      : messageReply(insightJson(), USAGE, 'claude-e2e'),
  );
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
      ANTHROPIC_API_KEY: 'sk-ant-e2e-secret',
      ANTHROPIC_BASE_URL: stub.url,
      INTELLIGENCE_MODEL: 'claude-e2e',
      INTELLIGENCE_MODEL_PRICING: JSON.stringify({ 'claude-e2e': { input: 2, output: 10, cache_read: 0.2 } }),
      INTELLIGENCE_MONTHLY_BUDGET_USD: '5',
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

async function summary(workspaceId: string) {
  const { rows } = await sql<{
    task_type: string;
    total_executions: number;
    successful_executions: number;
    failed_executions: number;
    total_cost_usd: string;
  }>`SELECT * FROM get_autonomous_task_summary(${workspaceId}::uuid, 'continuous_intelligence_update', 24)`.execute(db);
  return rows;
}

describe('continuous-intelligence agent through its queue', () => {
  it('extracts insights per workspace job, records exact costs, and reports a malformed answer as partial_failure', async () => {
    const a = await seedWorkspace(db, { name: 'A' });
    const b = await seedWorkspace(db, { name: 'B' });
    await seedEmail(db, a, SAMPLE_EMAILS[0]!);
    await seedEmail(db, a, SAMPLE_EMAILS[1]!);
    await seedEmail(db, b, SAMPLE_EMAILS[2]!);

    const jobA = await producer.enqueue(
      'continuous_intelligence_queue',
      'continuous_intelligence_update',
      { workspace_id: a },
      { triggeredBy: 'cron' },
    );
    const jobB = await producer.enqueue('continuous_intelligence_queue', 'continuous_intelligence_update', {
      workspace_id: b,
      batch_size: 5,
    });
    const rowA = await terminalRow(jobA.jobId);
    const rowB = await terminalRow(jobB.jobId);

    expect(rowA).toMatchObject({
      status: 'completed',
      workspace_id: a,
      agent_name: 'continuous-intelligence',
      task_type: 'continuous_intelligence_update',
      triggered_by: 'cron',
      cost_estimate_usd: '0.014400',
      attempt: 1,
    });
    expect(rowA.output_data).toMatchObject({
      workspaces_processed: 1,
      total_emails: 2,
      insights_extracted: 2,
      model: 'claude-e2e',
      cost_usd: 2 * CALL_COST,
    });
    expect(rowB).toMatchObject({ status: 'completed', workspace_id: b, cost_estimate_usd: '0.007200' });
    expect(stub.requests.every((q) => q.body.model === 'claude-e2e')).toBe(true);
    expect(await db.selectFrom('email_insights').select('id').execute()).toHaveLength(3);

    // A malformed model answer: the run is a partial failure and the email waits for the next run.
    const garbled = await seedEmail(db, a, {
      from: 'x@acme-robotics.com',
      subject: 'GARBLED',
      body: 'GARBLED reply body',
    });
    const jobA2 = await producer.enqueue('continuous_intelligence_queue', 'continuous_intelligence_update', {
      workspace_id: a,
    });
    const rowA2 = await terminalRow(jobA2.jobId);
    expect(rowA2).toMatchObject({ status: 'partial_failure', cost_estimate_usd: '0.007200' });
    expect(rowA2.error_message).toMatch(/1 email\(s\) failed extraction/);
    expect(rowA2.output_data).toMatchObject({ failed_emails: 1, failures: [{ email_id: garbled }] });
    const stillOpen = await db
      .selectFrom('emails')
      .select('processed_at')
      .where('id', '=', garbled)
      .executeTakeFirstOrThrow();
    expect(stillOpen.processed_at).toBeNull();

    expect(await summary(a)).toEqual([
      {
        task_type: 'continuous_intelligence_update',
        total_executions: 2,
        successful_executions: 1,
        failed_executions: 1,
        avg_duration_ms: expect.anything(),
        total_cost_usd: '0.021600',
        last_execution: expect.any(Date),
      },
    ]);
    expect(await summary(b)).toMatchObject([
      { total_executions: 1, successful_executions: 1, total_cost_usd: '0.007200' },
    ]);
    // output_data.tokens is asserted in run-update.test.ts: the runtime's secret scrubber
    // currently masks keys containing "token", so it is not checked on the audit row here.
  });

  it('a fleet-wide job covers every active workspace and attributes cost per workspace in its output', async () => {
    const c = await seedWorkspace(db, { name: 'C' });
    await seedEmail(db, c, SAMPLE_EMAILS[3]!);
    const job = await producer.enqueue('continuous_intelligence_queue', 'continuous_intelligence_update', {});
    const row = await terminalRow(job.jobId);
    expect(row.workspace_id).toBeNull();
    // Workspace A still has its garbled email: that one fails again.
    expect(row.status).toBe('partial_failure');
    expect(row.output_data).toMatchObject({ workspaces_processed: 3, total_emails: 2, insights_extracted: 1 });
    const perWorkspace = row.output_data.per_workspace as Record<string, { cost_usd: number }>;
    expect(perWorkspace[c]!.cost_usd).toBe(CALL_COST);
    expect(row.cost_estimate_usd).toBe('0.014400');
  });

  it('rejects a payload with a bad workspace id without retrying', async () => {
    const job = await producer.enqueue('continuous_intelligence_queue', 'continuous_intelligence_update', {
      workspace_id: '2f9e6c1a-0b7d-4e3f-8a2b-9c1d0e4f5a6b',
    });
    const row = await terminalRow(job.jobId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/workspace_id 2f9e6c1a-0b7d-4e3f-8a2b-9c1d0e4f5a6b does not exist/);
    const attempts = await db
      .selectFrom('autonomous_tasks')
      .select('attempt')
      .where('job_id', '=', job.jobId)
      .execute();
    expect(attempts).toHaveLength(1);
  });
});
