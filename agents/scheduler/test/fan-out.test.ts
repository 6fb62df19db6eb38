import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fanOut, fanOutJobId } from '../src/fan-out.ts';
import { buildSchedules, type Schedule, type ScheduleName } from '../src/schedules.ts';
import { seedMailAccount, seedOrg, seedWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let active: string[];
let inactive: string;
let activeAccounts: string[];
const schedules = Object.fromEntries(buildSchedules({ tz: 'UTC' }).map((s) => [s.name, s])) as Record<
  ScheduleName,
  Schedule
>;

beforeAll(async () => {
  t = await createTestDatabase('sched_fanout');
  r = createTestRedis('sched-fanout');
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  const org = await seedOrg(t.db);
  active = [
    await seedWorkspace(t.db, org),
    await seedWorkspace(t.db, org, { timezone: 'Pacific/Auckland' }),
    await seedWorkspace(t.db, org),
  ];
  inactive = await seedWorkspace(t.db, org, { active: false });
  activeAccounts = [
    await seedMailAccount(t.db, active[0]!),
    await seedMailAccount(t.db, active[0]!),
    await seedMailAccount(t.db, active[1]!),
  ];
  await seedMailAccount(t.db, active[0]!, false); // inactive account
  await seedMailAccount(t.db, inactive); // active account of an inactive workspace
});

beforeEach(async () => {
  for (const q of [
    'continuous_intelligence_queue',
    'email_integration_queue',
    'analytics_queue',
    'maintenance_queue',
  ] as const) {
    await producer.queue(q).obliterate({ force: true });
  }
  await t.db.deleteFrom('autonomous_tasks').execute();
});

afterAll(async () => {
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

async function jobsOf(queue: Parameters<Producer['queue']>[0]) {
  return producer.queue(queue).getJobs(['wait', 'delayed', 'prioritized', 'active'], 0, -1);
}

const pendingRows = (taskType: string) =>
  t.db
    .selectFrom('autonomous_tasks')
    .selectAll()
    .where('task_type', '=', taskType as never)
    .where('status', '=', 'pending')
    .execute();

describe('fanOut', () => {
  it('adds one job per active workspace, none for inactive ones, each with a pending cron audit row', async () => {
    const slot = Date.parse('2025-06-01T10:30:00Z');
    // A small page size walks several pages of workspaces.
    const result = await fanOut(t.db, producer, schedules.continuous_intelligence, slot, { pageSize: 2 });
    expect(result).toMatchObject({ targets: 3, created: 3, existing: 0, overlapping: 0, failed: [] });

    const jobs = await jobsOf('continuous_intelligence_queue');
    expect(jobs.map((j) => j.data.workspace_id).sort()).toEqual([...active].sort());
    expect(jobs.map((j) => j.data.workspace_id)).not.toContain(inactive);
    for (const job of jobs) {
      expect(job.id).toBe(fanOutJobId('continuous_intelligence', slot, job.data.workspace_id));
      expect(job.data.triggered_by).toBe('cron');
    }
    const rows = await waitFor(async () => {
      const rs = await pendingRows('continuous_intelligence_update');
      return rs.length === 3 ? rs : undefined;
    });
    for (const row of rows) {
      expect(row).toMatchObject({ triggered_by: 'cron', queue_name: 'continuous_intelligence_queue', attempt: 1 });
      expect(active).toContain(row.workspace_id);
    }
  });

  it('adds nothing when the same slot is fanned out again', async () => {
    const slot = Date.parse('2025-06-01T11:00:00Z');
    await fanOut(t.db, producer, schedules.lead_scoring, slot);
    const again = await fanOut(t.db, producer, schedules.lead_scoring, slot);
    expect(again).toMatchObject({ targets: 3, created: 0, existing: 3, overlapping: 0 });
    expect(await jobsOf('contact_intelligence_queue')).toHaveLength(3);
    // A tick retried after a partial failure adds only what is missing.
    const [first] = await jobsOf('contact_intelligence_queue');
    await first!.remove();
    const retried = await fanOut(t.db, producer, schedules.lead_scoring, slot);
    expect(retried).toMatchObject({ targets: 3, created: 1, existing: 2 });
    expect(await jobsOf('contact_intelligence_queue')).toHaveLength(3);
    await producer.queue('contact_intelligence_queue').obliterate({ force: true });
  });

  it('skips a target whose previous job is still waiting when the schedule does not overlap', async () => {
    await fanOut(t.db, producer, schedules.continuous_intelligence, Date.parse('2025-06-01T12:00:00Z'));
    const next = await fanOut(t.db, producer, schedules.continuous_intelligence, Date.parse('2025-06-01T12:30:00Z'));
    expect(next).toMatchObject({ targets: 3, created: 0, overlapping: 3 });
    expect(await jobsOf('continuous_intelligence_queue')).toHaveLength(3);
    expect(await pendingRows('continuous_intelligence_update')).toHaveLength(3);
  });

  it('adds one email sync per active mail account of an active workspace', async () => {
    const result = await fanOut(t.db, producer, schedules.email_sync, Date.parse('2025-06-01T06:00:00Z'), {
      pageSize: 2,
    });
    expect(result).toMatchObject({ targets: 3, created: 3 });
    const jobs = await jobsOf('email_integration_queue');
    expect(jobs.map((j) => j.data.account_id).sort()).toEqual([...activeAccounts].sort());
    const byAccount = Object.fromEntries(jobs.map((j) => [j.data.account_id, j.data.workspace_id]));
    expect(byAccount[activeAccounts[2]!]).toBe(active[1]);
  });

  it('adds one content calendar sync per active calendar of an active workspace', async () => {
    const calendar = (workspaceId: string, is_active = true) =>
      t.db
        .insertInto('content_calendars')
        .values({ workspace_id: workspaceId, url: `https://dav.example.com/${Math.random()}/`, is_active })
        .returning('id')
        .executeTakeFirstOrThrow()
        .then((c) => c.id);
    const wanted = { [await calendar(active[0]!)]: active[0], [await calendar(active[1]!)]: active[1] };
    await calendar(active[2]!, false);
    await calendar(inactive);
    await producer.queue('content_calendar_queue').obliterate({ force: true });
    const slot = Date.parse('2025-06-01T06:15:00Z');
    expect(await fanOut(t.db, producer, schedules.content_calendar_sync, slot)).toMatchObject({
      targets: 2,
      created: 2,
    });
    const jobs = await jobsOf('content_calendar_queue');
    expect(Object.fromEntries(jobs.map((j) => [j.data.calendar_id, j.data.workspace_id]))).toEqual(wanted);
    // A calendar whose sync is still waiting gets no second one from the next tick.
    const next = await fanOut(t.db, producer, schedules.content_calendar_sync, slot + 15 * 60_000);
    expect(next).toMatchObject({ created: 0, overlapping: 2 });
  });

  it('names the period of report jobs in each workspace time zone and queues every slot', async () => {
    // 2025-06-01T13:15Z: still June 1 in UTC, already June 2 in Auckland (UTC+12).
    const slot = Date.parse('2025-06-01T13:15:00Z');
    await fanOut(t.db, producer, schedules.daily_analytics_rollup, slot);
    const jobs = await jobsOf('analytics_queue');
    const dates = Object.fromEntries(jobs.map((j) => [j.data.workspace_id, j.data.date]));
    expect(dates[active[0]!]).toBe('2025-05-31');
    expect(dates[active[1]!]).toBe('2025-06-01');
    // A report slot is its own work: the next day's tick queues behind the waiting one.
    const next = await fanOut(t.db, producer, schedules.daily_analytics_rollup, slot + 86_400_000);
    expect(next).toMatchObject({ created: 3, overlapping: 0 });
    expect(await jobsOf('analytics_queue')).toHaveLength(6);
  });

  it('gives campaign optimization its tick as as_of, and adds nothing while the last one waits', async () => {
    const slot = Date.parse('2025-06-01T04:30:00Z');
    expect(await fanOut(t.db, producer, schedules.campaign_optimization, slot)).toMatchObject({ created: 3 });
    const jobs = await jobsOf('analytics_queue');
    expect(jobs.map((j) => j.data.as_of)).toEqual(Array(3).fill('2025-06-01T04:30:00.000Z'));
    expect(jobs.map((j) => j.name)).toEqual(Array(3).fill('campaign_optimization'));
    const next = await fanOut(t.db, producer, schedules.campaign_optimization, slot + 86_400_000);
    expect(next).toMatchObject({ created: 0, overlapping: 3 });
  });

  it('adds one fleet-wide maintenance job without a workspace', async () => {
    const result = await fanOut(t.db, producer, schedules.system_health_check, Date.parse('2025-06-01T10:05:00Z'));
    expect(result).toMatchObject({ targets: 1, created: 1 });
    const [job, ...rest] = await jobsOf('maintenance_queue');
    expect(rest).toHaveLength(0);
    expect(job!.data).toEqual({ triggered_by: 'cron' });
    const rows = await waitFor(async () => {
      const rs = await pendingRows('system_health_check');
      return rs.length === 1 ? rs : undefined;
    });
    expect(rows[0]!.workspace_id).toBeNull();
  });
});
