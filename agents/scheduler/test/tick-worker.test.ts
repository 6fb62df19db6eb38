import { createProducer, createRedis, type Producer, queueKeyPrefix, type RedisClient } from '@fleet/queues';
import { hostControlWorker } from '@fleet/runtime';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanOut } from '../src/fan-out.ts';
import { TICK_QUEUE } from '../src/reconcile-schedules.ts';
import { buildSchedules, type Schedule } from '../src/schedules.ts';
import { tickSlot, tickWorker } from '../src/tick-worker.ts';
import { seedOrg, seedWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let connection: RedisClient;
let workerConnection: RedisClient;
let ticks: Queue;
let active: string[];
const log = pino({ level: 'silent' });
const schedules = buildSchedules({ tz: 'UTC' });

beforeAll(async () => {
  t = await createTestDatabase('sched_tick');
  r = createTestRedis('sched-tick');
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  connection = createRedis(r.url, 'producer');
  workerConnection = createRedis(r.url, 'worker');
  ticks = new Queue(TICK_QUEUE, { connection, prefix: r.prefix });
  const org = await seedOrg(t.db);
  active = [await seedWorkspace(t.db, org), await seedWorkspace(t.db, org)];
});

afterAll(async () => {
  await ticks?.close();
  connection?.disconnect();
  workerConnection?.disconnect();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

/** The scheduler's tick worker, hosted as the runtime hosts an agent's control workers. */
async function startTickWorker(options: { schedules: Schedule[] }) {
  const hosted = hostControlWorker(tickWorker, {
    connection: workerConnection,
    prefix: queueKeyPrefix(workerConnection, r.prefix, TICK_QUEUE),
    db: t.db,
    log,
    deps: {
      producer,
      schedules: options.schedules,
      env: { SCHEDULER_TICK_CONCURRENCY: 2, SCHEDULER_ENQUEUE_CONCURRENCY: 25 },
    },
  });
  await hosted.start();
  return hosted;
}

describe('tick worker', () => {
  it('reads the slot from the scheduler job id, identical on every retry', () => {
    const opts = { delay: 0 };
    expect(tickSlot({ id: 'repeat:email_sync:1748757600000', timestamp: 1, opts })).toBe(1748757600000);
    expect(tickSlot({ id: 'custom', timestamp: 1_000, opts: { delay: 500 } })).toBe(1_500);
  });

  it('fans a tick out to one job per active workspace', async () => {
    const worker = await startTickWorker({ schedules });
    try {
      const tick = await ticks.add('tick', { schedule: 'lead_scoring', v: 1 });
      await waitFor(async () => (await tick.getState()) === 'completed', { what: 'the tick to complete' });
      const jobs = await producer.queue('contact_intelligence_queue').getJobs(['wait'], 0, -1);
      expect(jobs.map((j) => j.data.workspace_id).sort()).toEqual([...active].sort());
      const done = await ticks.getJob(tick.id!);
      expect(done?.returnvalue).toMatchObject({ schedule: 'lead_scoring', targets: 2, created: 2 });
    } finally {
      await worker.close();
    }
  });

  it('fails a tick whose jobs could not be added, and its retry adds them', async () => {
    // A wait list of the wrong type makes Redis reject every command on it (WRONGTYPE).
    const waitKey = `${r.prefix}:contact_intelligence_queue:wait`;
    await connection.del(waitKey);
    await connection.set(waitKey, 'not a list');
    const direct = await fanOut(t.db, producer, schedules.find((s) => s.name === 'contact_enrichment')!, 1);
    expect(direct.created).toBe(0);
    expect(direct.failed).toHaveLength(2);
    expect(direct.failed.every((f) => f.retryable && /WRONGTYPE/.test(f.error))).toBe(true);

    const worker = await startTickWorker({ schedules });
    try {
      const tick = await ticks.add(
        'tick',
        { schedule: 'contact_enrichment', v: 1 },
        { attempts: 20, backoff: { type: 'fixed', delay: 100 } },
      );
      const first = await waitFor(
        async () => {
          const j = await ticks.getJob(tick.id!);
          return j && j.attemptsMade >= 1 ? j : undefined;
        },
        { what: 'the first attempt to fail' },
      );
      expect(first.failedReason).toMatch(/^contact_enrichment: 2 of 2 jobs could not be added \(first: .*WRONGTYPE/);
      await connection.del(waitKey);
      await waitFor(async () => (await tick.getState()) === 'completed', { what: 'a retry to complete' });
      const jobs = await producer.queue('contact_intelligence_queue').getJobs(['wait'], 0, -1);
      expect(
        jobs
          .filter((j) => j.name === 'contact_enrichment')
          .map((j) => j.data.workspace_id)
          .sort(),
      ).toEqual([...active].sort());
    } finally {
      await worker.close();
    }
  });

  it('skips a tick for a schedule this process does not run', async () => {
    const onlySome = buildSchedules({ tz: 'UTC', overrides: { weekly_report: { enabled: false } } });
    const worker = await startTickWorker({ schedules: onlySome });
    try {
      const tick = await ticks.add('tick', { schedule: 'weekly_report', v: 1 });
      await waitFor(async () => (await tick.getState()) === 'completed', { what: 'the tick to complete' });
      expect(await producer.queue('analytics_queue').getJobCounts('wait')).toEqual({ wait: 0 });
    } finally {
      await worker.close();
    }
  });
});
