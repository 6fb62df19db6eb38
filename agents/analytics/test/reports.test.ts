import { PermanentError } from '@fleet/runtime';
import { createTestDatabase, createWorkspace, insertContact, insertEmail, type TestDatabase } from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDailyRollup } from '../src/daily-rollup.ts';
import { lastCompleteMonth, lastCompleteWeek, monthPeriod, previousPeriod, weekPeriod } from '../src/periods.ts';
import { runReport } from '../src/report-data.ts';
import type { ReportData } from '../src/report-types.ts';
import { insertScore, insertTask } from './seed.ts';

const log = pino({ level: 'silent' });
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('reports');
});
afterAll(async () => {
  await t?.drop();
});

const at = (iso: string) => new Date(iso);

async function report(id: string) {
  const row = await t.db.selectFrom('analytics_reports').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { ...row, data: row.data as unknown as ReportData };
}

async function emails(ws: string, day: string, inbound: number, outbound: number) {
  for (let i = 0; i < inbound; i++)
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at(`${day}T09:00:00Z`) });
  for (let i = 0; i < outbound; i++)
    await insertEmail(t.db, ws, { direction: 'outbound', sent_at: at(`${day}T10:00:00Z`) });
}

describe('period arithmetic', () => {
  it('weeks run Monday to Sunday and months are calendar months', () => {
    expect(lastCompleteWeek('2025-06-11')).toEqual({
      kind: 'weekly',
      start: '2025-06-02',
      end: '2025-06-08',
      label: '2025-W23',
    });
    expect(lastCompleteWeek('2025-06-09')).toMatchObject({ start: '2025-06-02' });
    expect(lastCompleteWeek('2025-06-08')).toMatchObject({ start: '2025-05-26' });
    expect(weekPeriod('2024-12-30').label).toBe('2025-W01');
    expect(previousPeriod(weekPeriod('2025-01-06'))).toMatchObject({ start: '2024-12-30', end: '2025-01-05' });
    expect(monthPeriod('2024-02')).toMatchObject({ start: '2024-02-01', end: '2024-02-29' });
    expect(previousPeriod(monthPeriod('2025-01'))).toMatchObject({ start: '2024-12-01', end: '2024-12-31' });
    expect(lastCompleteMonth('2025-03-01')).toMatchObject({ start: '2025-02-01', end: '2025-02-28' });
  });
});

describe('weekly_report_generation', () => {
  let ws: string;
  const now = at('2025-06-11T12:00:00Z'); // a Wednesday: the last complete week is 2025-06-02..08

  beforeAll(async () => {
    ws = await createWorkspace(t.db);
    // Previous week (05-26..06-01): 4 received, 2 sent. This week: 6 received, 3 sent, busiest on the 4th.
    await emails(ws, '2025-05-27', 4, 2);
    await emails(ws, '2025-06-03', 1, 1);
    await emails(ws, '2025-06-04', 4, 2);
    await emails(ws, '2025-06-06', 1, 0);

    const riser = await insertContact(t.db, ws, {
      email: 'riser@acme.io',
      first_name: 'Rita',
      last_name: 'Riser',
      created_at: at('2025-05-27T00:00:00Z'),
    });
    const faller = await insertContact(t.db, ws, { email: 'faller@acme.io', created_at: at('2025-05-27T00:00:00Z') });
    const fresh = await insertContact(t.db, ws, { email: 'fresh@acme.io', created_at: at('2025-06-05T00:00:00Z') });
    await insertScore(t.db, ws, riser, 20, 'cold', at('2025-05-28T00:00:00Z'));
    await insertScore(t.db, ws, riser, 50, 'warm', at('2025-06-03T00:00:00Z'));
    await insertScore(t.db, ws, riser, 85, 'hot', at('2025-06-07T00:00:00Z'));
    await insertScore(t.db, ws, faller, 75, 'hot', at('2025-05-28T00:00:00Z'));
    await insertScore(t.db, ws, faller, 45, 'warm', at('2025-06-05T00:00:00Z'));
    await insertScore(t.db, ws, fresh, 10, 'cold', at('2025-06-05T00:00:00Z'));

    await insertTask(t.db, ws, {
      task_type: 'continuous_intelligence_update',
      status: 'completed',
      executed_at: at('2025-06-03T01:00:00Z'),
      duration_ms: 100,
      cost: 0.3,
    });
    await insertTask(t.db, ws, {
      task_type: 'continuous_intelligence_update',
      status: 'failed',
      executed_at: at('2025-06-04T01:00:00Z'),
      duration_ms: 100,
      cost: 0.1,
    });
    await insertTask(t.db, ws, {
      task_type: 'contact_enrichment',
      status: 'partial_failure',
      executed_at: at('2025-06-05T01:00:00Z'),
      duration_ms: 100,
      cost: 0.05,
    });
    await insertTask(t.db, ws, {
      task_type: 'contact_enrichment',
      status: 'failed',
      executed_at: at('2025-06-05T02:00:00Z'),
      duration_ms: 100,
    });
    await insertTask(t.db, ws, {
      task_type: 'lead_scoring_batch',
      status: 'completed',
      executed_at: at('2025-05-28T01:00:00Z'),
      duration_ms: 100,
    });
  });

  it('backfills the missing days, then reports deltas and highlights', async () => {
    const { output } = await runReport(t.db, log, { workspaceId: ws, kind: 'weekly' }, now);
    expect(output).toMatchObject({
      kind: 'weekly',
      period: '2025-W23',
      period_start: '2025-06-02',
      period_end: '2025-06-08',
      previous_period_start: '2025-05-26',
      complete: true,
      days: 7,
      days_backfilled: 14,
    });
    const r = await report(output.report_id as string);
    expect(r).toMatchObject({ kind: 'weekly', period_start: '2025-06-02', period_end: '2025-06-08' });

    expect(r.data.deltas.emails_received).toEqual({ current: 6, previous: 4, change: 2, change_pct: 50 });
    expect(r.data.deltas.emails_sent).toEqual({ current: 3, previous: 2, change: 1, change_pct: 50 });
    expect(r.data.deltas.new_contacts).toEqual({ current: 1, previous: 2, change: -1, change_pct: -50 });
    expect(r.data.deltas.hot_contacts).toEqual({ current: 1, previous: 1, change: 0, change_pct: 0 });
    expect(r.data.deltas.task_failures).toEqual({ current: 3, previous: 0, change: 3, change_pct: null });
    expect(r.data.deltas.task_cost_usd).toMatchObject({ current: 0.45, previous: 0 });

    expect(r.data.highlights.top_score_changes.map((m) => [m.email, m.score_before, m.score_after, m.change])).toEqual([
      ['riser@acme.io', 20, 85, 65],
      ['faller@acme.io', 75, 45, -30],
      ['fresh@acme.io', null, 10, 10],
    ]);
    expect(r.data.highlights.busiest_days[0]).toEqual({ day: '2025-06-04', emails: 6, received: 4, sent: 2 });
    expect(r.data.highlights.costly_task_types).toEqual([
      { task_type: 'continuous_intelligence_update', cost_usd: 0.4, executions: 2 },
      { task_type: 'contact_enrichment', cost_usd: 0.05, executions: 2 },
    ]);
    expect(r.data.highlights.failure_hot_spots).toEqual([
      { task_type: 'contact_enrichment', failures: 2, executions: 2, failure_rate: 1 },
      { task_type: 'continuous_intelligence_update', failures: 1, executions: 2, failure_rate: 0.5 },
    ]);

    expect(r.markdown).toContain('# Weekly report: 2025-W23');
    expect(r.markdown).toContain('| Emails received | 6 | 4 | +2 (+50.0%) |');
    expect(r.markdown).toContain('- Rita Riser <riser@acme.io>: 20 (cold) → 85 (hot), +65');
    expect(r.markdown).toContain('- contact_enrichment: 2 of 2 executions failed (100.0%)');
  });

  it('regenerates the same report in place, without backfilling again, and sees re-rolled days', async () => {
    const first = await runReport(t.db, log, { workspaceId: ws, kind: 'weekly', weekStart: '2025-06-02' }, now);
    expect(first.output.days_backfilled).toBe(0);
    // A late email for the 3rd, then the day is re-run: the report follows.
    await emails(ws, '2025-06-03', 2, 0);
    await runDailyRollup(t.db, { workspaceId: ws, date: '2025-06-03' }, now);
    const second = await runReport(t.db, log, { workspaceId: ws, kind: 'weekly', weekStart: '2025-06-02' }, now);
    expect(second.output.report_id).toBe(first.output.report_id);
    expect((await report(second.output.report_id as string)).data.deltas.emails_received).toMatchObject({
      current: 8,
      previous: 4,
    });
    const { count } = await t.db
      .selectFrom('analytics_reports')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(1);
  });

  it('rolls up again a day that was rolled up before it ended', async () => {
    const partial = await createWorkspace(t.db);
    await emails(partial, '2025-06-04', 1, 0);
    await runDailyRollup(t.db, { workspaceId: partial, date: '2025-06-04' }, at('2025-06-04T08:00:00Z'));
    await emails(partial, '2025-06-04', 2, 0); // arrived later that day
    const { output } = await runReport(t.db, log, { workspaceId: partial, kind: 'weekly' }, now);
    expect(output.days_backfilled).toBe(14);
    expect((await report(output.report_id as string)).data.totals.emails.received).toBe(3);
  });

  it('rejects a week_start that is not a Monday and a week not started yet', async () => {
    const run = runReport(t.db, log, { workspaceId: ws, kind: 'weekly', weekStart: '2025-06-03' }, now);
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.toThrow('week_start 2025-06-03 is not a Monday');
    await expect(
      runReport(t.db, log, { workspaceId: ws, kind: 'weekly', weekStart: '2025-06-16' }, now),
    ).rejects.toThrow('has not started yet');
  });
});

describe('monthly_summary', () => {
  it('compares the month with the previous one', async () => {
    const ws = await createWorkspace(t.db, { timezone: 'Europe/Berlin' });
    // 2025-03-31T22:30Z is already April 1st in Berlin (CEST, +2): it belongs to April.
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-03-15T10:00:00Z') });
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-03-31T22:30:00Z') });
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-04-10T10:00:00Z') });
    await insertEmail(t.db, ws, { direction: 'inbound', sent_at: at('2025-04-20T10:00:00Z') });
    await insertEmail(t.db, ws, { direction: 'outbound', sent_at: at('2025-04-20T11:00:00Z') });
    await insertTask(t.db, ws, {
      task_type: 'monthly_summary',
      status: 'completed',
      executed_at: at('2025-04-02T00:00:00Z'),
      duration_ms: 10,
      cost: 0.2,
    });

    const { output } = await runReport(t.db, log, { workspaceId: ws, kind: 'monthly' }, at('2025-05-03T00:00:00Z'));
    expect(output).toMatchObject({
      kind: 'monthly',
      period: '2025-04',
      period_start: '2025-04-01',
      period_end: '2025-04-30',
      days: 30,
      days_backfilled: 61,
    });
    const r = await report(output.report_id as string);
    expect(r.data.deltas.emails_received).toEqual({ current: 3, previous: 1, change: 2, change_pct: 200 });
    expect(r.data.deltas.emails_sent).toEqual({ current: 1, previous: 0, change: 1, change_pct: null });
    expect(r.data.deltas.task_cost_usd).toEqual({ current: 0.2, previous: 0, change: 0.2, change_pct: null });
    expect(r.markdown).toContain('# Monthly summary: 2025-04');
    expect(r.markdown).toContain('compared month over month with 2025-03-01 to 2025-03-31');
  });
});
