/**
 * Jobs a worker holds beyond its handler slots: fleet_jobs_active tells running from held ones,
 * and an operator's cancel reaches a job still waiting for a slot.
 */
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markCancelled, type RunningAgent, startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let redis: Redis;
let agent: RunningAgent;
let workspaceId: string;
let openGate!: () => void;
const gate = new Promise<void>((resolve) => {
  openGate = resolve;
});

beforeAll(async () => {
  t = await createTestDatabase('rt_held');
  r = createTestRedis('rt-held');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  redis = new Redis(r.url);
  // One handler slot, and room for two more jobs; every handler waits for the gate.
  agent = await startAgent(
    testAgent(async () => {
      await gate;
      return { output: { ok: true } };
    }, 1),
    { env: agentEnv(t.url, r.url, r.prefix, { AUDIT_ACK_WINDOW: '2' }) },
  );
});

afterAll(async () => {
  openGate();
  await agent?.close(5_000);
  redis?.disconnect();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

async function held(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(
    /^fleet_jobs_active\{queue="maintenance_queue",state="(\w+)",agent="test-agent"\} (\d+)$/gm,
  )) {
    counts[m[1]!] = Number(m[2]);
  }
  return counts;
}

const enqueue = () =>
  producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }).then((x) => x.jobId);

describe('a worker with one handler slot and a window of two', () => {
  it('holds three jobs, runs one, and honours a cancel of one waiting for the slot', { timeout: 30_000 }, async () => {
    const jobs = [await enqueue(), await enqueue(), await enqueue(), await enqueue()];
    // BullMQ holds slots + window = 3 jobs; the fourth stays in the queue.
    expect(
      await waitFor(async () => {
        const h = await held();
        return h.running === 1 && h.waiting_for_slot === 2 ? h : undefined;
      }),
    ).toEqual({ waiting_for_slot: 2, running: 1, awaiting_commit: 0 });
    expect(await agent.queue.getActiveCount()).toBe(3);
    expect(await agent.queue.getWaitingCount()).toBe(1);

    // BullMQ fetches in order: the first job has the slot (its handler waits for the gate), so the
    // second can only be cancelled while it waits for the slot.
    const victim = jobs[1]!;
    expect((await agent.queue.getActive()).map((j) => j.id).sort()).toEqual(jobs.slice(0, 3).sort());
    await markCancelled(redis, r.prefix, { queue: 'maintenance_queue', jobId: victim, reason: 'not wanted' });
    await waitFor(async () => (await agent.queue.getJobState(victim)) === 'failed', { what: 'the cancel' });
    const row = await t.db
      .selectFrom('autonomous_tasks')
      .select(['status', 'error_message', 'attempt'])
      .where('job_id', '=', victim)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'cancelled', error_message: 'cancelled: not wanted', attempt: 1 });

    openGate();
    await waitFor(async () => (await agent.queue.getCompletedCount()) === 3, { what: 'the other three jobs' });
    expect(await waitFor(async () => ((await held()).awaiting_commit === 0 ? held() : undefined))).toEqual({
      waiting_for_slot: 0,
      running: 0,
      awaiting_commit: 0,
    });
    const statuses = await t.db
      .selectFrom('autonomous_tasks')
      .select(['job_id', 'status'])
      .where('job_id', 'in', jobs)
      .execute();
    expect(
      statuses
        .filter((x) => x.status === 'completed')
        .map((x) => x.job_id)
        .sort(),
    ).toEqual(jobs.filter((id) => id !== victim).sort());
  });
});
