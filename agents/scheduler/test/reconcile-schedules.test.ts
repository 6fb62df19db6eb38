import { createRedis, type RedisClient } from '@fleet/queues';
import { createTestRedis, type TestRedis } from '@fleet/testing';
import { Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listSchedulers, reconcileSchedules, TICK_QUEUE } from '../src/reconcile-schedules.ts';
import { buildSchedules, SCHEDULE_NAMES } from '../src/schedules.ts';

let r: TestRedis;
let connections: RedisClient[];
let a: Queue;
let b: Queue;

beforeAll(() => {
  r = createTestRedis('sched-reconcile');
  connections = [createRedis(r.url, 'producer'), createRedis(r.url, 'producer')];
  a = new Queue(TICK_QUEUE, { connection: connections[0]!, prefix: r.prefix });
  b = new Queue(TICK_QUEUE, { connection: connections[1]!, prefix: r.prefix });
});

beforeEach(async () => {
  await a.obliterate({ force: true });
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  for (const c of connections) c.disconnect();
  await r.cleanup();
});

/** Pending tick jobs (the next iteration of each scheduler), counted per scheduler. */
async function pendingTicks(queue: Queue): Promise<Record<string, string[]>> {
  const jobs = await queue.getJobs(['delayed', 'wait', 'prioritized'], 0, -1);
  const out: Record<string, string[]> = {};
  for (const job of jobs) {
    const key = job.repeatJobKey ?? '?';
    out[key] = [...(out[key] ?? []), job.id!];
  }
  return out;
}

describe('reconcileSchedules', () => {
  it('creates each schedule once when two processes reconcile at the same moment', async () => {
    const schedules = buildSchedules({ tz: 'UTC' });
    const [first, second] = await Promise.all([reconcileSchedules(a, schedules), reconcileSchedules(b, schedules)]);
    expect(first.removed).toEqual([]);
    expect(second.removed).toEqual([]);

    const stored = await listSchedulers(a);
    expect(stored.map((s) => s.key).sort()).toEqual([...SCHEDULE_NAMES].sort());
    const ticks = await pendingTicks(a);
    expect(Object.keys(ticks).sort()).toEqual([...SCHEDULE_NAMES].sort());
    for (const name of SCHEDULE_NAMES) expect(ticks[name], name).toHaveLength(1);

    // A restart with the same configuration touches nothing.
    const again = await reconcileSchedules(b, schedules);
    expect(again).toEqual({ created: [], updated: [], unchanged: [...SCHEDULE_NAMES], removed: [] });
    expect(await pendingTicks(a)).toEqual(ticks);
  });

  it('rewrites a schedule whose timing changed and fires it by the new pattern in its time zone', async () => {
    await reconcileSchedules(a, buildSchedules({ tz: 'UTC' }));
    const changed = buildSchedules({
      tz: 'UTC',
      overrides: {
        email_sync: { cron: '0 */4 * * *', tz: 'Asia/Kolkata' },
        continuous_intelligence: { every_ms: 90_000 },
      },
    });
    const result = await reconcileSchedules(b, changed);
    expect(result.updated.sort()).toEqual(['continuous_intelligence', 'email_sync']);
    expect(result.created).toEqual([]);
    expect(result.unchanged).toHaveLength(SCHEDULE_NAMES.length - 2);

    const email = await a.getJobScheduler('email_sync');
    expect(email).toMatchObject({ pattern: '0 */4 * * *', tz: 'Asia/Kolkata' });
    const expectedNext = CronExpressionParser.parse('0 */4 * * *', { tz: 'Asia/Kolkata', currentDate: new Date() })
      .next()
      .getTime();
    // Kolkata is UTC+5:30, so the next firing is at a half hour in UTC.
    expect(new Date(expectedNext).getUTCMinutes()).toBe(30);
    const ticks = await pendingTicks(a);
    expect(ticks.email_sync).toEqual([`repeat:email_sync:${expectedNext}`]);
    const ci = await a.getJobScheduler('continuous_intelligence');
    expect(Number(ci?.every)).toBe(90_000);
    expect(ci?.pattern ?? undefined).toBeUndefined();
    expect(ticks.continuous_intelligence).toHaveLength(1);
  });

  it('removes schedules that the configuration disables, with their pending ticks', async () => {
    await reconcileSchedules(a, buildSchedules({ tz: 'UTC' }));
    const fewer = buildSchedules({
      tz: 'UTC',
      overrides: { weekly_report: { enabled: false } },
      cronVars: { data_cleanup: 'off' },
    });
    const result = await reconcileSchedules(a, fewer);
    expect(result.removed.sort()).toEqual(['data_cleanup', 'weekly_report']);
    expect(await a.getJobScheduler('weekly_report')).toBeUndefined();
    expect(await a.getJobScheduler('data_cleanup')).toBeUndefined();
    const ticks = await pendingTicks(a);
    expect(ticks.weekly_report).toBeUndefined();
    expect(ticks.data_cleanup).toBeUndefined();
    expect(Object.keys(ticks)).toHaveLength(SCHEDULE_NAMES.length - 2);
  });
});
