import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { type Behaviour, sleep, testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace, statusCounts, taskRows } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let workspaceId: string;
const behaviours = new Map<string, Behaviour>();

beforeAll(async () => {
  t = await createTestDatabase('rt_e2e');
  r = createTestRedis('rt-e2e');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(
    testAgent(async (payload, ctx) => {
      const b = behaviours.get(String((payload as { workspace_id?: string }).workspace_id ?? 'default'));
      if (b) return b(payload, ctx);
      await sleep(5);
      return { output: { ok: true, attempt: ctx.attempt }, costUsd: 0.0025 };
    }, 50),
    { env: agentEnv(t.url, r.url, r.prefix) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

describe('runtime end to end', () => {
  it('runs 500 jobs enqueued through the client into 500 completed rows with output, cost and duration', async () => {
    const results = await Promise.all(
      Array.from({ length: 500 }, () =>
        producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }),
      ),
    );
    expect(new Set(results.map((x) => x.jobId)).size).toBe(500);
    await waitFor(async () => (await statusCounts(t.db)).completed === 500 || undefined, {
      timeoutMs: 60_000,
      what: '500 completed rows',
    });
    const rows = await taskRows(t.db);
    expect(rows).toHaveLength(500);
    for (const row of rows) {
      expect(row).toMatchObject({
        status: 'completed',
        attempt: 1,
        queue_name: 'maintenance_queue',
        task_type: 'system_health_check',
        agent_name: 'test-agent',
        triggered_by: 'api',
        workspace_id: workspaceId,
        output_data: { ok: true, attempt: 1 },
        cost_estimate_usd: '0.002500',
        input_data: { workspace_id: workspaceId, triggered_by: 'api' },
      });
      expect(row.completed_at).not.toBeNull();
      expect(row.duration_ms).toBe(row.completed_at!.getTime() - row.executed_at.getTime());
      expect(row.duration_ms).toBeGreaterThanOrEqual(4);
    }
    expect(results.every((x) => rows.some((row) => row.job_id === x.jobId))).toBe(true);
  });
});
