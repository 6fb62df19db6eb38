import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let writer: AuditWriter;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_reconcile');
  r = createTestRedis('rt-reconcile');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  writer = createAuditWriter({ db: t.db, runningDelayMs: 0 });
  // A long interval: the test drives sweeps itself. A short lock: rows older than 200 ms count.
  agent = await startAgent(
    testAgent(async () => ({ output: {} })),
    { env: agentEnv(t.url, r.url, r.prefix, { RECONCILE_INTERVAL_MS: '3600000', LOCK_DURATION_MS: '200' }) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await writer?.close();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

const row = (jobId: string) =>
  t.db
    .selectFrom('autonomous_tasks')
    .select(['attempt', 'status', 'error_message'])
    .where('job_id', '=', jobId)
    .execute();

describe('reconciler sweep', () => {
  it('closes the pending row of a job removed before it ran as cancelled, and leaves waiting ones open', async () => {
    const removed = await producer.enqueue('maintenance_queue', 'data_cleanup', {}, { delay: 3_600_000 });
    const waiting = await producer.enqueue('maintenance_queue', 'data_cleanup', {}, { delay: 3_600_000 });
    await agent.queue.remove(removed.jobId);
    await t.db
      .updateTable('autonomous_tasks')
      .set({ executed_at: new Date(Date.now() - 60_000) })
      .execute();
    expect(await agent.reconciler.sweep()).toBe(1);
    expect(await row(removed.jobId)).toEqual([
      { attempt: 1, status: 'cancelled', error_message: 'job removed from the queue before it ran' },
    ]);
    expect(await row(waiting.jobId)).toEqual([{ attempt: 1, status: 'pending', error_message: null }]);
  });

  it('closes a running row whose job is gone (removed or lost with Redis data) as failed', async () => {
    writer.running({
      queueName: 'maintenance_queue',
      jobId: 'gone-1@1',
      attempt: 1,
      workspaceId,
      taskType: 'system_health_check',
      agentName: 'test-agent',
      triggeredBy: 'api',
      inputData: {},
      executedAt: new Date(Date.now() - 60_000),
      jobCreatedAt: new Date(Date.now() - 60_000),
    });
    await writer.flush();
    expect(await agent.reconciler.sweep()).toBe(1);
    expect(await row('gone-1@1')).toEqual([
      { attempt: 1, status: 'failed', error_message: 'job removed from the queue while running' },
    ]);
  });
});
