import { PermanentError } from '@fleet/runtime';
import {
  createTestDatabase,
  createWorkspace,
  insertContact,
  insertEmail,
  insertInsight,
  type TestDatabase,
} from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DailyMetrics } from '../src/daily-metrics.ts';
import { runDailyRollup } from '../src/daily-rollup.ts';
import { insertScore, insertTask } from './seed.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('rollup');
});
afterAll(async () => {
  await t?.drop();
});

const at = (iso: string) => new Date(iso);
const later = at('2025-07-01T00:00:00Z');

async function storedMetrics(ws: string, day: string): Promise<DailyMetrics> {
  const row = await t.db
    .selectFrom('daily_analytics')
    .select('metrics')
    .where('workspace_id', '=', ws)
    .where('day', '=', day)
    .executeTakeFirstOrThrow();
  return row.metrics as unknown as DailyMetrics;
}

describe('daily_analytics_rollup on a UTC workspace', () => {
  let ws: string;
  const day = '2025-06-10';

  beforeAll(async () => {
    ws = await createWorkspace(t.db);
    const alice = await insertContact(t.db, ws, { created_at: at('2025-06-10T08:00:00Z') });
    const bob = await insertContact(t.db, ws, { created_at: at('2025-06-01T08:00:00Z') });
    const carol = await insertContact(t.db, ws, { created_at: at('2025-06-05T08:00:00Z') });
    await insertContact(t.db, ws, { created_at: at('2025-06-11T08:00:00Z') }); // after the day

    // Scores: the snapshot at the day's end is alice hot (90), bob warm (50); carol is unscored
    // then. Later changes must not leak into the day.
    await insertScore(t.db, ws, alice, 30, 'cold', at('2025-06-10T09:00:00Z'));
    await insertScore(t.db, ws, alice, 90, 'hot', at('2025-06-10T18:00:00Z'));
    await insertScore(t.db, ws, alice, 10, 'cold', at('2025-06-11T09:00:00Z'));
    await insertScore(t.db, ws, bob, 50, 'warm', at('2025-06-02T09:00:00Z'));
    await insertScore(t.db, ws, carol, 70, 'hot', at('2025-06-12T09:00:00Z'));

    // Thread t1: inbound 10:00, our reply 10:30 (30 min). Inbound 11:00 answered via
    // In-Reply-To at 13:00 (120 min). Inbound 15:00 never answered.
    const thread = await t.db
      .insertInto('email_threads')
      .values({ workspace_id: ws, provider_thread_id: 't1' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const in1 = await insertEmail(t.db, ws, {
      direction: 'inbound',
      sent_at: at('2025-06-10T10:00:00Z'),
      contact_id: alice,
      thread_id: thread.id,
    });
    await insertEmail(t.db, ws, {
      direction: 'outbound',
      sent_at: at('2025-06-10T10:30:00Z'),
      contact_id: alice,
      thread_id: thread.id,
      opened_at: at('2025-06-10T11:00:00Z'),
      replied_at: at('2025-06-10T12:00:00Z'),
    });
    const in2 = await insertEmail(t.db, ws, {
      direction: 'inbound',
      sent_at: at('2025-06-10T11:00:00Z'),
      contact_id: bob,
      provider_message_id: '<m2@bob>',
    });
    await insertEmail(t.db, ws, {
      direction: 'outbound',
      sent_at: at('2025-06-10T13:00:00Z'),
      contact_id: bob,
      in_reply_to: '<m2@bob>',
      clicked_at: at('2025-06-10T14:00:00Z'),
    });
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-06-10T15:00:00Z'), contact_id: bob });
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-06-11T00:00:00Z'), contact_id: bob }); // next day

    await insertInsight(t.db, ws, { email_id: in1, intent: 'pricing', sentiment: 'positive', urgency: 'high' });
    await insertInsight(t.db, ws, { email_id: in2, intent: 'question', sentiment: 'negative', sentiment_score: -0.5 });

    await insertTask(t.db, ws, {
      task_type: 'lead_scoring_batch',
      status: 'completed',
      executed_at: at('2025-06-10T01:00:00Z'),
      duration_ms: 1000,
    });
    await insertTask(t.db, ws, {
      task_type: 'lead_scoring_batch',
      status: 'completed',
      executed_at: at('2025-06-10T02:00:00Z'),
      duration_ms: 3000,
    });
    await insertTask(t.db, ws, {
      task_type: 'continuous_intelligence_update',
      status: 'failed',
      executed_at: at('2025-06-10T03:00:00Z'),
      duration_ms: 500,
      cost: 0.05,
    });
    await insertTask(t.db, ws, {
      task_type: 'contact_enrichment',
      status: 'partial_failure',
      executed_at: at('2025-06-10T23:59:59Z'),
      duration_ms: 2500,
      cost: 0.1,
    });
    await insertTask(t.db, ws, {
      task_type: 'lead_scoring_batch',
      status: 'completed',
      executed_at: at('2025-06-11T00:00:00Z'),
      duration_ms: 9,
    });
  });

  it('computes the metrics worked out by hand', async () => {
    const { output } = await runDailyRollup(t.db, { workspaceId: ws, date: day }, later);
    expect(output).toMatchObject({ day, timezone: 'UTC', complete: true, days: 1, emails_received: 3, emails_sent: 2 });
    // 31 fixed metrics + 2 intents + 3 task types × 8
    expect(output.total_metrics).toBe(57);

    const m = await storedMetrics(ws, day);
    expect(m.window).toEqual({ start: '2025-06-10T00:00:00.000Z', end: '2025-06-11T00:00:00.000Z', hours: 24 });
    expect(m.emails).toEqual({
      received: 3,
      sent: 2,
      opened: 1,
      clicked: 1,
      replies_received: 1,
      answered: 2,
      response_time_avg_minutes: 75,
      response_time_median_minutes: 75,
      active_contacts: 2,
      threads: 1,
    });
    expect(m.contacts).toEqual({
      new: 1,
      total: 3,
      scored: 2,
      by_tier: { hot: 1, warm: 1, cold: 0 },
      average_score: 70,
    });
    expect(m.insights).toEqual({
      total: 2,
      by_sentiment: { positive: 1, neutral: 0, negative: 1 },
      high_urgency: 1,
      by_intent: { pricing: 1, question: 1 },
      mean_sentiment: 0.25,
    });
    expect(m.fleet).toMatchObject({
      executions: 4,
      completed: 2,
      failed: 1,
      partial_failures: 1,
      cost_usd: 0.15,
      avg_duration_ms: 1750,
      by_task_type: {
        lead_scoring_batch: { executions: 2, completed: 2, avg_duration_ms: 2000, cost_usd: 0 },
        continuous_intelligence_update: { executions: 1, failed: 1, cost_usd: 0.05 },
        contact_enrichment: { executions: 1, partial_failures: 1, cost_usd: 0.1 },
      },
    });
  });

  it('agrees with independent SQL counts', async () => {
    const m = await storedMetrics(ws, day);
    const { rows } = await sql<{
      received: number;
      sent: number;
      new_contacts: number;
      tasks: number;
      insights: number;
    }>`
      SELECT
        (SELECT count(*)::int FROM emails WHERE workspace_id = ${ws} AND direction = 'inbound' AND (sent_at AT TIME ZONE 'UTC')::date = ${day}::date) AS received,
        (SELECT count(*)::int FROM emails WHERE workspace_id = ${ws} AND direction = 'outbound' AND (sent_at AT TIME ZONE 'UTC')::date = ${day}::date) AS sent,
        (SELECT count(*)::int FROM contacts WHERE workspace_id = ${ws} AND (created_at AT TIME ZONE 'UTC')::date = ${day}::date) AS new_contacts,
        (SELECT count(*)::int FROM autonomous_tasks WHERE workspace_id = ${ws} AND (executed_at AT TIME ZONE 'UTC')::date = ${day}::date) AS tasks,
        (SELECT count(*)::int FROM email_insights i JOIN emails e ON e.id = i.email_id
          WHERE e.workspace_id = ${ws} AND (e.sent_at AT TIME ZONE 'UTC')::date = ${day}::date) AS insights
    `.execute(t.db);
    expect(rows[0]).toEqual({
      received: m.emails.received,
      sent: m.emails.sent,
      new_contacts: m.contacts.new,
      tasks: m.fleet.executions,
      insights: m.insights.total,
    });
  });

  it('is idempotent, and counts a late-arriving email when the day is re-run', async () => {
    const before = await storedMetrics(ws, day);
    await runDailyRollup(t.db, { workspaceId: ws, date: day }, later);
    expect(await storedMetrics(ws, day)).toEqual(before);
    const { count } = await t.db
      .selectFrom('daily_analytics')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(1);

    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-06-10T20:00:00Z') });
    const { output } = await runDailyRollup(t.db, { workspaceId: ws, date: day }, later);
    expect(output.emails_received).toBe(4);
    expect((await storedMetrics(ws, day)).emails.received).toBe(4);
  });

  it('marks a day rolled up before it ended as incomplete', async () => {
    const { output } = await runDailyRollup(t.db, { workspaceId: ws, date: day }, at('2025-06-10T12:00:00Z'));
    expect(output.complete).toBe(false);
  });

  it('refuses a day in the future', async () => {
    const run = runDailyRollup(t.db, { workspaceId: ws, date: '2025-06-12' }, at('2025-06-11T12:00:00Z'));
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.toThrow(
      'date 2025-06-12 is in the future for this workspace (today is 2025-06-11 in UTC)',
    );
  });
});

describe('daily_analytics_rollup follows the workspace time zone', () => {
  it('spans 23 hours on the spring-forward day in New York, with the right edges', async () => {
    const ws = await createWorkspace(t.db, { timezone: 'America/New_York' });
    // 2025-03-09 starts 05:00Z (EST) and ends 04:00Z next day (EDT).
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-03-09T04:59:59Z') }); // 23:59:59 on the 8th
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-03-09T05:00:00Z') }); // 00:00 on the 9th
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-03-10T03:59:59Z') }); // 23:59:59 EDT on the 9th
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-03-10T04:00:00Z') }); // 00:00 on the 10th
    await runDailyRollup(t.db, { workspaceId: ws, date: '2025-03-09' }, later);
    const m = await storedMetrics(ws, '2025-03-09');
    expect(m.window).toEqual({ start: '2025-03-09T05:00:00.000Z', end: '2025-03-10T04:00:00.000Z', hours: 23 });
    expect(m.emails.received).toBe(2);
    await runDailyRollup(t.db, { workspaceId: ws, date: '2025-03-08' }, later);
    expect((await storedMetrics(ws, '2025-03-08')).emails.received).toBe(1);
  });

  it('spans 25 hours on the fall-back day', async () => {
    const ws = await createWorkspace(t.db, { timezone: 'America/New_York' });
    await runDailyRollup(t.db, { workspaceId: ws, date: '2025-11-02' }, at('2025-12-01T00:00:00Z'));
    expect((await storedMetrics(ws, '2025-11-02')).window.hours).toBe(25);
  });

  it('defaults to yesterday in the workspace zone, not in UTC', async () => {
    const tokyo = await createWorkspace(t.db, { timezone: 'Asia/Tokyo' });
    const ny = await createWorkspace(t.db, { timezone: 'America/New_York' });
    // 2025-03-10T03:30Z is already the 10th in Tokyo (12:30) but still the 9th in New York (23:30).
    const now = at('2025-03-10T03:30:00Z');
    expect((await runDailyRollup(t.db, { workspaceId: tokyo }, now)).output.day).toBe('2025-03-09');
    expect((await runDailyRollup(t.db, { workspaceId: ny }, now)).output.day).toBe('2025-03-08');
  });

  it('rejects a workspace whose time zone is unknown, naming the column', async () => {
    const ws = await createWorkspace(t.db, { timezone: 'Mars/Olympus_Mons' });
    await expect(runDailyRollup(t.db, { workspaceId: ws, date: '2025-01-01' }, later)).rejects.toThrow(
      /workspaces\.timezone .* "Mars\/Olympus_Mons", not an IANA time zone/,
    );
  });
});
