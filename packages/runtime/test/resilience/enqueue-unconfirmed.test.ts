import { createProducer, EnqueueUnconfirmedError, type Producer } from '@fleet/queues';
import {
  createTestDatabase,
  createTestRedis,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  type TestRedis,
} from '@fleet/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../src/index.ts';
import { testAgent } from '../fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from '../helpers.ts';

/**
 * An enqueue whose outcome is unknown must not be recorded as failed: the job may be in Redis.
 * The producer reaches Redis through a TCP proxy that loses the replies (the add runs, its answer
 * never arrives) or everything (the add never arrives); the agent, connected directly, runs the
 * reconciler that resolves each case against Redis.
 */
let t: TestDatabase;
let r: TestRedis;
let agent: RunningAgent;
let workspaceId: string;
const ran: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_unconfirmed');
  r = createTestRedis('rt-unconfirmed');
  workspaceId = await createWorkspace(t.db);
  // The test drives the sweeps; rows older than 200 ms count as old for the other checks.
  agent = await startAgent(
    testAgent(async (_payload, ctx) => {
      ran.push(String(ctx.job.id));
      return { output: { ok: true } };
    }),
    { env: agentEnv(t.url, r.url, r.prefix, { RECONCILE_INTERVAL_MS: '3600000', LOCK_DURATION_MS: '200' }) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await r?.cleanup();
  await t?.drop();
});

const rowOf = (jobId: string) =>
  t.db
    .selectFrom('autonomous_tasks')
    .select(['attempt', 'status', 'error_message'])
    .where('job_id', '=', jobId)
    .execute();
const markOf = (jobId: string) =>
  t.db.selectFrom('unconfirmed_enqueues').selectAll().where('job_id', '=', jobId).executeTakeFirst();
/** Moves the row and its mark back in time, as if the grace period had passed. */
async function age(jobId: string, ms: number, what: 'row' | 'mark' | 'both') {
  const at = new Date(Date.now() - ms);
  if (what !== 'mark')
    await t.db.updateTable('autonomous_tasks').set({ executed_at: at }).where('job_id', '=', jobId).execute();
  if (what !== 'row')
    await t.db.updateTable('unconfirmed_enqueues').set({ recorded_at: at }).where('job_id', '=', jobId).execute();
}

async function proxiedProducer(): Promise<{ proxy: TcpProxy; producer: Producer }> {
  const u = new URL(r.url);
  const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
  const producer = createProducer({ redis: proxy.via(r.url), prefix: r.prefix, db: t.db });
  // A first command through the proxy, so the connection is up before the path breaks.
  await producer.queue('maintenance_queue').getJobCounts('waiting');
  return { proxy, producer };
}

async function enqueueError(producer: Producer, delay: number): Promise<EnqueueUnconfirmedError> {
  const error = await producer
    .enqueue('maintenance_queue', 'data_cleanup', { workspace_id: workspaceId }, { delay })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(EnqueueUnconfirmedError);
  return error as EnqueueUnconfirmedError;
}

describe('an add whose reply is lost', () => {
  it('leaves the row pending and unconfirmed; the reconciler finds the job in Redis and leaves it alone', async () => {
    const { proxy, producer } = await proxiedProducer();
    try {
      proxy.dropReplies();
      const error = await enqueueError(producer, 3_600_000);
      expect(error.recorded).toBe(true);
      expect(error.message).toMatch(/Command timed out.*may or may not be queued/);
      expect(await rowOf(error.jobId)).toEqual([{ attempt: 1, status: 'pending', error_message: null }]);
      expect((await markOf(error.jobId))?.reason).toBe('Command timed out');
      // The add did run: the job is in Redis.
      expect(await (await agent.queue.getJob(error.jobId))?.getState()).toBe('delayed');

      await age(error.jobId, 10 * 60_000, 'both');
      await agent.reconciler.sweep();
      expect(await rowOf(error.jobId)).toEqual([{ attempt: 1, status: 'pending', error_message: null }]);
      expect(await markOf(error.jobId)).toBeUndefined();
    } finally {
      await proxy.close();
      await producer.close();
    }
  });
});

describe('an add that never arrives', () => {
  it('leaves the row pending through the grace period, then the reconciler records it failed', async () => {
    const { proxy, producer } = await proxiedProducer();
    let jobId = '';
    try {
      proxy.blackhole();
      const error = await enqueueError(producer, 0);
      jobId = error.jobId;
    } finally {
      // Closed before the path comes back: the Redis client cannot send the add again.
      await proxy.close();
      await producer.close();
    }
    expect(await agent.queue.getJob(jobId)).toBeUndefined();
    // Old enough for the reconciler's other checks (which would call it "removed before it ran"),
    // but inside the grace period: left as it is.
    await age(jobId, 60_000, 'row');
    await agent.reconciler.sweep();
    expect(await rowOf(jobId)).toEqual([{ attempt: 1, status: 'pending', error_message: null }]);
    expect(await markOf(jobId)).toBeDefined();

    await age(jobId, 10 * 60_000, 'both');
    expect(await agent.reconciler.sweep()).toBe(1);
    const [row] = await rowOf(jobId);
    expect(row?.status).toBe('failed');
    expect(row?.error_message).toMatch(
      /^could not enqueue: Redis did not confirm adding the job \(Command timed out\) and it was not in the queue \d+ s later; enqueue it again$/,
    );
    expect(await markOf(jobId)).toBeUndefined();
    expect(ran).not.toContain(jobId);
  });
});

describe('an add that Redis refuses', () => {
  it('records the row failed at once, with Redis’s answer', async () => {
    // The queue's event stream is made a plain string: Redis answers the add script with an error.
    const admin = new Redis(r.url);
    await admin.set(`${r.prefix}:analytics_queue:events`, 'not a stream');
    const producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
    try {
      const error = await producer.enqueue('analytics_queue', 'monthly_summary', { workspace_id: workspaceId }).then(
        () => null,
        (e: Error) => e,
      );
      expect(error).not.toBeNull();
      expect(error).not.toBeInstanceOf(EnqueueUnconfirmedError);
      const rows = await t.db
        .selectFrom('autonomous_tasks')
        .select(['job_id', 'status', 'error_message'])
        .where('queue_name', '=', 'analytics_queue')
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe('failed');
      expect(rows[0]?.error_message).toMatch(/^could not enqueue: .*WRONGTYPE/);
      expect(await markOf(rows[0]!.job_id!)).toBeUndefined();
    } finally {
      await producer.close();
      await admin.del(`${r.prefix}:analytics_queue:events`);
      admin.disconnect();
    }
  });
});
