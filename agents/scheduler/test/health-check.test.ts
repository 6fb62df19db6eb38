import { QUEUE_NAMES } from '@fleet/catalog';
import { createProducer, createRedis, type Producer, type RedisClient } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type HealthThresholds, healthCheck, parseMaxmemoryPolicy, type QueueHealth } from '../src/health-check.ts';
import { insertTaskRow } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let redis: RedisClient;
let queues: Record<string, Queue>;

const thresholds: HealthThresholds = {
  stuckRunningMs: 60 * 60_000,
  maxWaitAgeMs: 15 * 60_000,
  maxQueueDepth: 1_000,
  maxFailureRate: 0.25,
  minFailureSample: 20,
};

beforeAll(async () => {
  t = await createTestDatabase('sched_health');
  r = createTestRedis('sched-health');
  producer = createProducer({ redis: r.url, prefix: r.prefix });
  redis = createRedis(r.url, 'producer');
  queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, producer.queue(n)]));
});

beforeEach(async () => {
  await t.db.deleteFrom('autonomous_tasks').execute();
  for (const q of Object.values(queues)) await q.obliterate({ force: true });
});

afterAll(async () => {
  redis?.disconnect();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

describe('healthCheck', () => {
  it('reports a quiet fleet healthy, with every catalog queue and the eviction policy', async () => {
    const report = await healthCheck({ db: t.db, redis, queues, thresholds });
    expect(report.problems).toEqual([]);
    expect(report.healthy).toBe(true);
    expect(report.postgres.ok).toBe(true);
    expect(report.redis).toMatchObject({ ok: true, maxmemory_policy: 'noeviction', eviction_safe: true });
    expect(Object.keys(report.queues).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(report.queues.analytics_queue).toMatchObject({ waiting: 0, oldest_waiting_age_ms: null });
    expect(report.stuck_running).toMatchObject({ count: 0 });
    expect(report.failures_last_hour).toMatchObject({ finished: 0, rate: null });
  });

  it('finds a running row older than the threshold, and not a recent one', async () => {
    const stuck = await insertTaskRow(t.db, { status: 'running', ageMs: 2 * 3600_000 });
    await insertTaskRow(t.db, { status: 'running', ageMs: 60_000 });
    await insertTaskRow(t.db, { status: 'completed', ageMs: 3 * 3600_000 });
    const report = await healthCheck({ db: t.db, redis, queues, thresholds });
    expect(report.healthy).toBe(false);
    expect(report.stuck_running).toMatchObject({ count: 1, threshold_minutes: 60 });
    expect(report.stuck_running!.oldest.map((o) => o.id)).toEqual([stuck]);
    expect(report.problems).toEqual(['stuck_running: 1 rows running for over 60 min']);
  });

  it('finds a backlog by depth and by the age of the oldest waiting job', async () => {
    const wsId = '5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f';
    for (let i = 0; i < 4; i++)
      await producer.enqueue('analytics_queue', 'daily_analytics_rollup', { workspace_id: wsId });
    const oldest = (await queues.analytics_queue!.getJobs(['wait'], 0, -1)).reduce(
      (a, j) => Math.min(a, j.timestamp),
      Infinity,
    );

    const byDepth = await healthCheck({ db: t.db, redis, queues, thresholds: { ...thresholds, maxQueueDepth: 3 } });
    expect(byDepth.healthy).toBe(false);
    expect(byDepth.problems).toEqual(['backlog: analytics_queue has 4 waiting jobs (limit 3)']);
    const q = byDepth.queues.analytics_queue as QueueHealth;
    expect(q.waiting).toBe(4);
    expect(q.oldest_waiting_age_ms).toBe(Date.parse(byDepth.checked_at) - oldest);

    const byAge = await waitFor(
      async () => {
        const rep = await healthCheck({ db: t.db, redis, queues, thresholds: { ...thresholds, maxWaitAgeMs: 200 } });
        return rep.healthy ? undefined : rep;
      },
      { what: 'the oldest job to be older than 200 ms' },
    );
    expect(byAge.problems).toHaveLength(1);
    expect(byAge.problems[0]).toMatch(/^backlog: analytics_queue's oldest waiting job is \d+ s old/);
    expect(
      Object.entries(byAge.queues)
        .filter(([, v]) => (v as QueueHealth).waiting > 0)
        .map(([k]) => k),
    ).toEqual(['analytics_queue']);
  });

  it('flags a failure rate over the limit once the sample is large enough', async () => {
    for (let i = 0; i < 6; i++) await insertTaskRow(t.db, { status: 'completed', ageMs: 10 * 60_000 });
    for (let i = 0; i < 4; i++)
      await insertTaskRow(t.db, { status: 'failed', ageMs: 10 * 60_000, taskType: 'email_sync' });
    // Failures from yesterday do not count.
    for (let i = 0; i < 10; i++) await insertTaskRow(t.db, { status: 'failed', ageMs: 26 * 3600_000 });

    const small = await healthCheck({ db: t.db, redis, queues, thresholds });
    expect(small.failures_last_hour).toMatchObject({ finished: 10, failed: 4, rate: 0.4 });
    expect(small.healthy).toBe(true);

    const judged = await healthCheck({ db: t.db, redis, queues, thresholds: { ...thresholds, minFailureSample: 10 } });
    expect(judged.healthy).toBe(false);
    expect(judged.problems).toEqual(['failure_rate: 40.0% of 10 attempts failed in the last hour (limit 25.0%)']);
    expect(judged.failures_last_hour!.by_task_type).toEqual({
      lead_scoring_batch: { finished: 6, failed: 0 },
      email_sync: { finished: 4, failed: 4 },
    });
  });

  it('reads the eviction policy from INFO memory', () => {
    expect(parseMaxmemoryPolicy('# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n')).toBe('allkeys-lru');
    expect(parseMaxmemoryPolicy('# Memory\r\nused_memory:1\r\n')).toBeNull();
  });

  it('reports Redis unreachable instead of throwing', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'producer');
    try {
      const report = await healthCheck({ db: t.db, redis: dead, queues: {}, thresholds, timeoutMs: 1_000 });
      expect(report.healthy).toBe(false);
      expect(report.redis.ok).toBe(false);
      expect(report.problems[0]).toMatch(/^redis: unreachable/);
      expect(report.postgres.ok).toBe(true);
    } finally {
      dead.disconnect();
    }
  });
});
