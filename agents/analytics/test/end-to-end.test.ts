import type { Database } from '@fleet/db';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  insertEmail,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import agentDefinition from '../src/index.ts';

let t: TestDatabase;
let db: Kysely<Database>;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;

beforeAll(async () => {
  t = await createTestDatabase('analytics_e2e');
  db = t.db;
  r = createTestRedis('analytics-e2e');
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
    },
  });
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
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

describe('analytics agent through its queue', () => {
  it('rolls up a day and writes a weekly report, each with its audit row', async () => {
    const ws = await createWorkspace(db, { timezone: 'Europe/Paris' });
    await insertEmail(db, ws, { direction: 'inbound', sent_at: new Date('2025-06-03T09:00:00Z') });
    await insertEmail(db, ws, { direction: 'outbound', sent_at: new Date('2025-06-03T21:59:59Z') }); // 23:59:59 in Paris
    await insertEmail(db, ws, { direction: 'outbound', sent_at: new Date('2025-06-03T22:00:00Z') }); // the 4th in Paris

    const rollup = await producer.enqueue('analytics_queue', 'daily_analytics_rollup', {
      workspace_id: ws,
      date: '2025-06-03',
    });
    const rollupRow = await terminalRow(rollup.jobId);
    expect(rollupRow).toMatchObject({
      status: 'completed',
      task_type: 'daily_analytics_rollup',
      agent_name: 'analytics',
      workspace_id: ws,
      cost_estimate_usd: '0.000000',
    });
    expect(rollupRow.output_data).toMatchObject({
      day: '2025-06-03',
      timezone: 'Europe/Paris',
      days: 1,
      emails_received: 1,
      emails_sent: 1,
    });
    expect(rollupRow.output_data.total_metrics).toBe(31); // no intents, no task types that day

    const weekly = await producer.enqueue('analytics_queue', 'weekly_report_generation', {
      workspace_id: ws,
      week_start: '2025-06-02',
    });
    const weeklyRow = await terminalRow(weekly.jobId);
    expect(weeklyRow).toMatchObject({ status: 'completed', task_type: 'weekly_report_generation' });
    // 14 days (this week and the last) minus the one rolled up above.
    expect(weeklyRow.output_data).toMatchObject({ period: '2025-W23', days: 7, days_backfilled: 13 });
    const report = await db
      .selectFrom('analytics_reports')
      .select(['kind', 'period_start', 'markdown'])
      .where('id', '=', weeklyRow.output_data.report_id as string)
      .executeTakeFirstOrThrow();
    expect(report).toMatchObject({ kind: 'weekly', period_start: '2025-06-02' });
    expect(report.markdown).toContain('| Emails sent | 2 | 0 | +2 |');

    const monthly = await producer.enqueue('analytics_queue', 'monthly_summary', {
      workspace_id: ws,
      month: '2025-05',
    });
    const monthlyRow = await terminalRow(monthly.jobId);
    expect(monthlyRow).toMatchObject({ status: 'completed', task_type: 'monthly_summary' });
    expect(monthlyRow.output_data).toMatchObject({ period_start: '2025-05-01', period_end: '2025-05-31', days: 31 });
  });

  it('runs campaign optimization, its output and recommendations in the audit row', async () => {
    const ws = await createWorkspace(db, { timezone: 'Europe/Paris' });
    const campaign = await db
      .insertInto('email_campaigns')
      .values({ workspace_id: ws, name: 'Launch' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const asOf = new Date('2025-06-10T12:00:00Z');
    for (let i = 0; i < 300; i++) {
      const sentAt = new Date(asOf.getTime() - (3 + (i % 20)) * 86_400_000);
      const variant = i % 2 === 0 ? 'A' : 'B';
      // B is opened every other time, A one time in ten.
      const opened = variant === 'B' ? i % 4 === 1 : i % 20 === 0;
      await insertEmail(db, ws, {
        direction: 'outbound',
        sent_at: sentAt,
        campaign_id: campaign.id,
        variant,
        subject: `Subject ${variant}`,
        opened_at: opened ? new Date(sentAt.getTime() + 60_000) : null,
      });
    }
    const job = await producer.enqueue('analytics_queue', 'campaign_optimization', {
      workspace_id: ws,
      as_of: asOf.toISOString(),
    });
    const row = await terminalRow(job.jobId);
    expect(row).toMatchObject({ status: 'completed', task_type: 'campaign_optimization', workspace_id: ws });
    expect(row.output_data).toMatchObject({ workspace_id: ws, as_of: asOf.toISOString(), timezone: 'Europe/Paris' });
    expect(row.output_data.ab_tests).toMatchObject([{ campaign: 'Launch', status: 'winner', winner: 'B' }]);
    expect(row.output_data.recommendations).toContainEqual(
      expect.objectContaining({ kind: 'ab_winner', scope: 'Launch' }),
    );
  });

  it('fails a weekly report for a week_start that is not a Monday, without retrying', async () => {
    const ws = await createWorkspace(db);
    const job = await producer.enqueue('analytics_queue', 'weekly_report_generation', {
      workspace_id: ws,
      week_start: '2025-06-04',
    });
    const row = await terminalRow(job.jobId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toContain('week_start 2025-06-04 is not a Monday');
    expect(
      await db.selectFrom('autonomous_tasks').select('attempt').where('job_id', '=', job.jobId).execute(),
    ).toHaveLength(1);
  });
});
