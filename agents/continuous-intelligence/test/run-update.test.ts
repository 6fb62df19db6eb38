import type { Database } from '@fleet/db';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicExtractor } from '../src/anthropic-extractor.ts';
import { claimEmails, saveInsight } from '../src/email-store.ts';
import { createHeuristicExtractor } from '../src/heuristic-extractor.ts';
import type { EmailForExtraction, Extractor } from '../src/insight.ts';
import { type IntelligenceDeps, runIntelligenceUpdate } from '../src/run-update.ts';
import { type AnthropicStub, errorReply, insightJson, messageReply, startAnthropicStub } from './anthropic-stub.ts';
import { SAMPLE_EMAILS, seedContact, seedEmail, seedWorkspace } from './seed.ts';

const log = pino({ level: 'silent' });
const PRICE = { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 };
const USAGE = { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 800 };
const CALL_COST = 0.00834; // 1200 × 3 + 300 × 15 + 800 × 0.3 millionths

let tdb: TestDatabase;
let db: Kysely<Database>;
let stub: AnthropicStub;

beforeAll(async () => {
  tdb = await createTestDatabase('ci_run');
  db = tdb.db;
  stub = await startAnthropicStub(() => messageReply(insightJson(), USAGE, 'claude-sonnet-4-6'));
});
afterAll(async () => {
  await stub.close();
  await tdb.drop();
});
beforeEach(async () => {
  await db.deleteFrom('autonomous_tasks').execute();
  await db.deleteFrom('organizations').execute();
});
afterEach(() => {
  stub.requests.length = 0;
  stub.script.length = 0;
});

function llm(maxRetries = 2): Extractor {
  return createAnthropicExtractor({
    apiKey: 'sk-ant-test',
    baseUrl: stub.url,
    model: 'claude-sonnet-4-6',
    price: PRICE,
    maxOutputTokens: 700,
    timeoutMs: 5_000,
    structuredOutput: true,
    retry: { retries: maxRetries, baseDelayMs: 1, maxDelayMs: 5, maxInlineWaitMs: 5 },
  });
}

function deps(overrides: Partial<IntelligenceDeps> = {}): IntelligenceDeps {
  return {
    llm: null,
    heuristic: createHeuristicExtractor(),
    defaultMonthlyBudgetUsd: 100,
    leaseMs: 60_000,
    maxAttempts: 3,
    ...overrides,
  };
}

const ctx = () => ({ db, log, signal: new AbortController().signal });
const payload = (p: { workspace_id?: string; batch_size?: number; max_emails?: number } = {}) => ({
  batch_size: 10,
  max_emails: 500,
  ...p,
});

async function seedSamples(workspaceId: string, n = SAMPLE_EMAILS.length): Promise<string[]> {
  const ids: string[] = [];
  for (const e of SAMPLE_EMAILS.slice(0, n)) ids.push(await seedEmail(db, workspaceId, e));
  return ids;
}

describe('continuous intelligence update', () => {
  it('extracts every unprocessed email of every active workspace with the heuristic, linked to contacts, once', async () => {
    const a = await seedWorkspace(db, { name: 'A' });
    const b = await seedWorkspace(db, { name: 'B' });
    const inactive = await seedWorkspace(db, { name: 'C', active: false });
    const sarah = await seedContact(db, a, 'Sarah.Chen@acme-robotics.com');
    const idsA = await seedSamples(a, 3);
    await seedSamples(b, 2);
    const [idC] = await seedSamples(inactive, 1);

    const r = await runIntelligenceUpdate(payload({ batch_size: 2 }), deps(), ctx());
    expect(r.status).toBe('completed');
    expect(r.costUsd).toBe(0);
    expect(r.output).toMatchObject({
      workspaces_processed: 2,
      total_emails: 5,
      insights_extracted: 5,
      failed_emails: 0,
      model: 'heuristic-v2',
      tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0 },
      cost_usd: 0,
    });

    const insights = await db.selectFrom('email_insights').selectAll().execute();
    expect(insights).toHaveLength(5);
    const first = insights.find((i) => i.email_id === idsA[0]);
    // The email had no contact_id: the contact is found by the sender's address.
    expect(first?.contact_id).toBe(sarah);
    expect(first?.intent).toBe('meeting_request');
    expect(first?.extractor).toBe('heuristic');
    const processed = await db.selectFrom('emails').select(['id', 'processed_at']).execute();
    for (const e of processed) expect(e.processed_at === null).toBe(e.id === idC);

    const again = await runIntelligenceUpdate(payload(), deps(), ctx());
    expect(again.output).toMatchObject({ total_emails: 0, insights_extracted: 0 });
    expect(await db.selectFrom('email_insights').select('id').execute()).toHaveLength(5);
  });

  it('gives our own mail an outbound insight, linked to the recipient, whose kind always follows the email', async () => {
    const ws = await seedWorkspace(db);
    const dana = await seedContact(db, ws, 'tom@ourco.com');
    const outbound = await seedEmail(db, ws, {
      from: 'sam@ourco.com',
      subject: 'Order form',
      body: 'Great news! The order form is attached. Please sign it by Friday.',
      direction: 'outbound',
    });
    const inbound = await seedEmail(db, ws, SAMPLE_EMAILS[0]!);
    const r = await runIntelligenceUpdate(payload({ workspace_id: ws }), deps(), ctx());
    expect(r.output.emails).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ email_id: outbound, kind: 'outbound' }),
        expect.objectContaining({ email_id: inbound, kind: 'inbound' }),
      ]),
    );
    const rows = await db
      .selectFrom('email_insights')
      .select(['email_id', 'kind', 'contact_id'])
      .where('workspace_id', '=', ws)
      .execute();
    expect(rows).toEqual(
      expect.arrayContaining([
        { email_id: outbound, kind: 'outbound', contact_id: dana },
        { email_id: inbound, kind: 'inbound', contact_id: null },
      ]),
    );
    // A writer cannot store a kind that disagrees with the email (migration 120's trigger).
    await db.updateTable('email_insights').set({ kind: 'inbound' }).where('email_id', '=', outbound).execute();
    const again = await db
      .selectFrom('email_insights')
      .select('kind')
      .where('email_id', '=', outbound)
      .executeTakeFirstOrThrow();
    expect(again.kind).toBe('outbound');
  });

  it('uses the LLM, sums exact costs and tokens, and leaves a malformed answer unprocessed for the next run', async () => {
    const ws = await seedWorkspace(db);
    const ids = await seedSamples(ws, 3);
    stub.fallback = (req) =>
      req.body.messages[0]!.content.includes('Pro plan')
        ? messageReply('Sure! Here is the JSON: {"intent": "pricing_inquiry"', USAGE, 'claude-sonnet-4-6')
        : messageReply(insightJson(), USAGE, 'claude-sonnet-4-6');
    try {
      const r = await runIntelligenceUpdate(payload({ workspace_id: ws }), deps({ llm: llm() }), ctx());
      expect(r.status).toBe('partial_failure');
      expect(r.error).toMatch(/1 email\(s\) failed/);
      // The malformed answer was billed too.
      expect(r.costUsd).toBe(0.02502);
      expect(r.output).toMatchObject({
        workspaces_processed: 1,
        total_emails: 3,
        insights_extracted: 2,
        failed_emails: 1,
        model: 'claude-sonnet-4-6',
        tokens: { input: 3600, output: 900, cache_read: 2400, cache_write: 0 },
        cost_usd: 0.02502,
        failures: [
          { email_id: ids[1], workspace_id: ws, reason: expect.stringMatching(/malformed model output: not JSON/) },
        ],
      });
      const lines = r.output.emails as { email_id: string; cost_usd: number; status: string }[];
      expect(lines.map((l) => [l.email_id, l.status, l.cost_usd])).toEqual([
        [ids[0], 'extracted', CALL_COST],
        [ids[1], 'failed', CALL_COST],
        [ids[2], 'extracted', CALL_COST],
      ]);
      const failed = await db.selectFrom('emails').selectAll().where('id', '=', ids[1]!).executeTakeFirstOrThrow();
      expect(failed.processed_at).toBeNull();
      expect(failed.intelligence_attempts).toBe(1);
      expect(failed.intelligence_error).toMatch(/not JSON/);
      expect(failed.intelligence_claimed_until).toBeNull();
      const stored = await db
        .selectFrom('email_insights')
        .selectAll()
        .where('email_id', '=', ids[0]!)
        .executeTakeFirstOrThrow();
      expect(stored).toMatchObject({
        extractor: 'anthropic',
        model: 'claude-sonnet-4-6',
        cost_usd: '0.008340',
        input_tokens: 1200,
      });
    } finally {
      stub.fallback = () => messageReply(insightJson(), USAGE, 'claude-sonnet-4-6');
    }

    const retry = await runIntelligenceUpdate(payload({ workspace_id: ws }), deps({ llm: llm() }), ctx());
    expect(retry.status).toBe('completed');
    expect(retry.output).toMatchObject({ total_emails: 1, insights_extracted: 1 });
    expect(await db.selectFrom('email_insights').select('id').execute()).toHaveLength(3);
  });

  it('switches a workspace to the heuristic when this month plus this run would pass its budget', async () => {
    const ws = await seedWorkspace(db);
    const other = await seedWorkspace(db);
    const ids = await seedSamples(ws, 4);
    const monthStart = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
    const lastMonth = new Date(monthStart.getTime() - 24 * 3600 * 1000);
    await db
      .insertInto('autonomous_tasks')
      .values([
        // Counted: this workspace, this month (any task type), and its share of a fleet-wide run.
        {
          workspace_id: ws,
          task_type: 'daily_analytics_rollup',
          status: 'completed',
          cost_estimate_usd: '0.5',
          executed_at: new Date(),
        },
        {
          workspace_id: null,
          task_type: 'continuous_intelligence_update',
          status: 'completed',
          cost_estimate_usd: '0.7',
          output_data: JSON.stringify({ per_workspace: { [ws]: { cost_usd: 0.25 }, [other]: { cost_usd: 0.45 } } }),
          executed_at: new Date(),
        },
        // Not counted: last month, and another workspace.
        {
          workspace_id: ws,
          task_type: 'continuous_intelligence_update',
          status: 'completed',
          cost_estimate_usd: '40',
          executed_at: lastMonth,
        },
        {
          workspace_id: other,
          task_type: 'continuous_intelligence_update',
          status: 'completed',
          cost_estimate_usd: '40',
          executed_at: new Date(),
        },
      ])
      .execute();
    const extractor = llm();
    const email = await db.selectFrom('emails').selectAll().where('id', '=', ids[0]!).executeTakeFirstOrThrow();
    const est = extractor.estimateMaxCostUsd({
      id: email.id,
      direction: email.direction,
      fromAddress: email.from_address ?? '',
      fromName: email.from_name,
      toAddresses: email.to_addresses,
      subject: email.subject,
      bodyText: email.body_text,
      snippet: email.snippet,
      sentAt: email.sent_at,
      timezone: 'America/New_York',
    } satisfies EmailForExtraction);
    // Room for exactly one call's worst case on top of the 0.75 already spent.
    const budget = 0.75 + est + 0.000001;
    await db
      .updateTable('workspaces')
      .set({ settings: JSON.stringify({ monthly_ai_budget_usd: budget }) })
      .where('id', '=', ws)
      .execute();

    const r = await runIntelligenceUpdate(
      payload({ workspace_id: ws, batch_size: 1 }),
      deps({ llm: extractor }),
      ctx(),
    );
    expect(r.status).toBe('completed');
    expect(stub.requests).toHaveLength(1);
    expect(r.costUsd).toBe(CALL_COST);
    const perWs = (r.output.per_workspace as Record<string, Record<string, unknown>>)[ws]!;
    expect(perWs).toMatchObject({
      month_spent_usd: 0.75,
      budget_usd: budget,
      budget_source: 'workspace',
      switched_to_heuristic: true,
    });
    expect(r.output.budget_switches).toEqual([
      expect.objectContaining({ workspace_id: ws, month_spent_usd: 0.75, run_cost_usd: CALL_COST, budget_usd: budget }),
    ]);
    const insights = await db.selectFrom('email_insights').select(['email_id', 'extractor', 'cost_usd']).execute();
    const byEmail = Object.fromEntries(insights.map((i) => [i.email_id, i.extractor]));
    expect(ids.map((id) => byEmail[id])).toEqual(['anthropic', 'heuristic', 'heuristic', 'heuristic']);

    // With this run's cost recorded (as the runtime does), the next run does not call the LLM.
    await db
      .insertInto('autonomous_tasks')
      .values({
        workspace_id: ws,
        task_type: 'continuous_intelligence_update',
        status: 'completed',
        cost_estimate_usd: r.costUsd,
      })
      .execute();
    await seedEmail(db, ws, SAMPLE_EMAILS[4]!);
    const next = await runIntelligenceUpdate(
      payload({ workspace_id: ws }),
      deps({ llm: extractor, defaultMonthlyBudgetUsd: 1000 }),
      ctx(),
    );
    expect(stub.requests).toHaveLength(1);
    expect(next.costUsd).toBe(0);
    expect(next.output.budget_switches).toHaveLength(1);
  });

  it('a zero default budget keeps every workspace on the heuristic', async () => {
    const ws = await seedWorkspace(db);
    await seedSamples(ws, 2);
    const r = await runIntelligenceUpdate(payload(), deps({ llm: llm(), defaultMonthlyBudgetUsd: 0 }), ctx());
    expect(stub.requests).toHaveLength(0);
    expect(r.output).toMatchObject({ insights_extracted: 2, cost_usd: 0 });
  });

  it('defers emails without failing them when the provider stays overloaded', async () => {
    const ws = await seedWorkspace(db);
    const ids = await seedSamples(ws, 3);
    stub.script.push(...Array.from({ length: 20 }, () => errorReply(529, 'overloaded_error', 'Overloaded')));
    const r = await runIntelligenceUpdate(payload({ batch_size: 1 }), deps({ llm: llm(1) }), ctx());
    expect(r.status).toBe('partial_failure');
    expect(r.error).toMatch(/LLM provider unavailable/);
    expect(r.output).toMatchObject({ total_emails: 0, insights_extracted: 0, failed_emails: 0, deferred_emails: 1 });
    expect(r.output.provider_error).toMatch(/529 after 2 tries/);
    // One email tried (1 + 1 retry), the rest never claimed; none counted against its attempts.
    expect(stub.requests).toHaveLength(2);
    const rows = await db.selectFrom('emails').selectAll().where('id', 'in', ids).execute();
    for (const e of rows) {
      expect(e.processed_at).toBeNull();
      expect(e.intelligence_attempts).toBe(0);
      expect(e.intelligence_claimed_until).toBeNull();
    }
  });

  it('skips emails leased by another run and emails past their attempt limit', async () => {
    const ws = await seedWorkspace(db);
    const [leased, exhausted, free] = await seedSamples(ws, 3);
    await db
      .updateTable('emails')
      .set({ intelligence_claimed_until: new Date(Date.now() + 60_000) })
      .where('id', '=', leased!)
      .execute();
    await db.updateTable('emails').set({ intelligence_attempts: 3 }).where('id', '=', exhausted!).execute();
    const r = await runIntelligenceUpdate(payload(), deps(), ctx());
    expect(r.output).toMatchObject({ total_emails: 1 });
    expect((r.output.per_workspace as Record<string, { gave_up: number }>)[ws]!.gave_up).toBe(1);
    const done = await db.selectFrom('email_insights').select('email_id').execute();
    expect(done.map((d) => d.email_id)).toEqual([free]);
  });

  it('never stores two insights for one email, even when the same extraction is saved twice', async () => {
    const ws = await seedWorkspace(db);
    await seedSamples(ws, 1);
    const [email] = await claimEmails(db, ws, { limit: 1, leaseMs: 1_000, maxAttempts: 3, exclude: [] });
    const x = await createHeuristicExtractor().extract(
      {
        id: email!.id,
        direction: email!.direction,
        fromAddress: email!.from_address ?? '',
        fromName: null,
        toAddresses: [],
        subject: email!.subject,
        bodyText: email!.body_text,
        snippet: null,
        sentAt: email!.sent_at,
        timezone: 'UTC',
      },
      new AbortController().signal,
    );
    expect(await saveInsight(db, email!, x)).toBe(true);
    expect(await saveInsight(db, email!, x)).toBe(false);
    expect(await db.selectFrom('email_insights').select('id').execute()).toHaveLength(1);
  });

  it('rejects an unknown workspace and stops at once when the job is aborted', async () => {
    await expect(
      runIntelligenceUpdate(payload({ workspace_id: '5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f' }), deps(), ctx()),
    ).rejects.toThrow(/workspace_id 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f does not exist/);

    const ws = await seedWorkspace(db);
    const ids = await seedSamples(ws, 2);
    const ac = new AbortController();
    ac.abort(new Error('cancelled by an operator'));
    await expect(runIntelligenceUpdate(payload(), deps(), { db, log, signal: ac.signal })).rejects.toThrow(/cancelled/);
    const rows = await db
      .selectFrom('emails')
      .select(['processed_at', 'intelligence_claimed_until'])
      .where('id', 'in', ids)
      .execute();
    expect(rows.every((r) => r.processed_at === null && r.intelligence_claimed_until === null)).toBe(true);
  });
});
