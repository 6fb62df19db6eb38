import { randomUUID } from 'node:crypto';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, RetryLaterError, type RunningAgent, startAgent } from '../src/index.ts';
import { type Behaviour, testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let workspaceId: string;
/** Behaviour per job id, so each test states what its handler does. */
const behaviours = new Map<string, Behaviour>();

beforeAll(async () => {
  t = await createTestDatabase('rt_retry');
  r = createTestRedis('rt-retry');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(
    testAgent(async (payload, ctx) => behaviours.get(String(ctx.job.id))!(payload, ctx)),
    { env: agentEnv(t.url, r.url, r.prefix) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

async function rowsOf(jobId: string) {
  return t.db
    .selectFrom('autonomous_tasks')
    .select(['attempt', 'status', 'error_message', 'output_data'])
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute();
}

async function run(behaviour: Behaviour, attempts = 3) {
  const jobId = randomUUID();
  behaviours.set(jobId, behaviour);
  await producer.enqueue(
    'maintenance_queue',
    'system_health_check',
    { workspace_id: workspaceId },
    { jobId, attempts, backoff: { type: 'fixed', delay: 20 } },
  );
  return jobId;
}

async function finalState(jobId: string) {
  return waitFor(
    async () => {
      const state = await agent.queue.getJobState(jobId);
      // fetched after the state is final, so its counters are final too
      return state === 'completed' || state === 'failed'
        ? { job: (await agent.queue.getJob(jobId))!, state }
        : undefined;
    },
    { timeoutMs: 15_000, what: `job ${jobId} to finish` },
  );
}

describe('attempts and retries', () => {
  it('records one row per attempt: failed, failed, completed for a handler that throws twice', async () => {
    const jobId = await run(async (_p, ctx) => {
      if (ctx.attempt < 3) throw new Error(`flaky dependency (try ${ctx.attempt})`);
      return { output: { done: true } };
    });
    const { state, job } = await finalState(jobId);
    expect(state).toBe('completed');
    expect(job.attemptsStarted).toBe(3);
    const rows = await rowsOf(jobId);
    expect(rows.map((x) => x.status)).toEqual(['failed', 'failed', 'completed']);
    expect(rows[0]!.error_message).toBe('flaky dependency (try 1) (failure 1 of 3 allowed; will retry)');
    expect(rows[1]!.error_message).toBe('flaky dependency (try 2) (failure 2 of 3 allowed; will retry)');
    expect(rows[2]!.output_data).toEqual({ done: true });
  });

  it('fails for good after the last attempt, one failed row each', async () => {
    const jobId = await run(async () => {
      throw new Error('always broken');
    }, 2);
    const { state } = await finalState(jobId);
    expect(state).toBe('failed');
    expect((await rowsOf(jobId)).map((x) => [x.attempt, x.status, x.error_message])).toEqual([
      [1, 'failed', 'always broken (failure 1 of 2 allowed; will retry)'],
      [2, 'failed', 'always broken'],
    ]);
  });

  it('does not retry a PermanentError', async () => {
    const jobId = await run(async () => {
      throw new PermanentError('media file 42 does not exist');
    });
    const { state, job } = await finalState(jobId);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(await rowsOf(jobId)).toEqual([
      { attempt: 1, status: 'failed', error_message: 'media file 42 does not exist', output_data: {} },
    ]);
  });

  it('records partial_failure with its output, and a returned failed status without retrying', async () => {
    const partial = await run(async () => ({
      status: 'partial_failure',
      output: { failed: [{ id: 'c1', reason: 'bad phone' }], processed: 9 },
      error: '1 of 10 items failed',
    }));
    const failed = await run(async () => ({ status: 'failed', output: { failed: 10 }, error: 'all 10 items failed' }));
    expect((await finalState(partial)).state).toBe('completed');
    expect((await finalState(failed)).state).toBe('failed');
    expect(await rowsOf(partial)).toEqual([
      {
        attempt: 1,
        status: 'partial_failure',
        error_message: '1 of 10 items failed',
        output_data: { failed: [{ id: 'c1', reason: 'bad phone' }], processed: 9 },
      },
    ]);
    expect(await rowsOf(failed)).toEqual([
      { attempt: 1, status: 'failed', error_message: 'all 10 items failed', output_data: { failed: 10 } },
    ]);
  });

  it('defers a rate-limited job without spending an attempt', async () => {
    const jobId = await run(async (_p, ctx) => {
      if (ctx.attempt === 1) throw new RetryLaterError('provider rate limit (Retry-After 1s)', 1_000);
      return { output: { ok: true } };
    }, 1);
    const { state, job } = await finalState(jobId);
    expect(state).toBe('completed');
    // Allowed one attempt, it still ran twice: the deferral did not spend it.
    expect(job.attemptsStarted).toBe(2);
    const rows = await rowsOf(jobId);
    expect(rows.map((x) => x.status)).toEqual(['failed', 'completed']);
    expect(rows[0]!.error_message).toBe('deferred 1s: provider rate limit (Retry-After 1s)');
  });
});
