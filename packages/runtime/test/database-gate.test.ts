/**
 * A replica whose audit database goes away stops taking jobs (its worker pauses, /readyz fails)
 * and takes them again once a probe query succeeds: the jobs that arrive meanwhile wait in the
 * queue instead of being started and deferred over and over.
 */
import { createProducer, type Producer } from '@fleet/queues';
import {
  adminQuery,
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { sleep, testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

const DURING_OUTAGE = 20;

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let queue: Queue;
let agent: RunningAgent;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_db_gate');
  r = createTestRedis('rt-db-gate');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix });
  queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  agent = await startAgent(
    testAgent(async () => {
      await sleep(10);
      return { output: { ok: true } };
    }, 4),
    {
      env: agentEnv(t.url, r.url, r.prefix, { DB_QUERY_TIMEOUT_MS: '1000', LOCK_DURATION_MS: '3000' }),
      databaseGate: { intervalMs: 200, retryMs: 200, timeoutMs: 1_000, failuresToClose: 2 },
    },
  );
});

afterAll(async () => {
  await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS true`).catch(() => {});
  await agent?.close(5_000);
  await producer?.close();
  await queue?.close();
  await r?.cleanup();
  await t?.drop();
});

async function readyz(): Promise<{ status: number; body: { checks?: Record<string, string> } }> {
  const res = await fetch(`http://127.0.0.1:${agent.port}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, string> } };
}

const enqueue = () => producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId });

describe('the database gate', () => {
  it('pauses the worker while the audit database is unreachable and resumes it after', {
    timeout: 60_000,
  }, async () => {
    const before = await Promise.all(Array.from({ length: 5 }, enqueue));
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === before.length || undefined, {
      what: 'the first jobs to complete',
    });
    expect((await readyz()).status).toBe(200);

    // Outage: no new connections, and the open ones are cut.
    await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS false`);
    await adminQuery(
      t.adminUrl,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [t.name],
    );
    await waitFor(() => agent.worker.isPaused() || undefined, { timeoutMs: 15_000, what: 'the worker to pause' });
    const notReady = await readyz();
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks?.audit).toMatch(/^not taking jobs: the audit database is unreachable/);

    const during = await Promise.all(Array.from({ length: DURING_OUTAGE }, enqueue));
    // Give the paused worker many probe rounds' worth of chances to take them.
    const probes = agent.databaseGate.probes();
    await waitFor(() => agent.databaseGate.probes() >= probes + 10 || undefined, { what: 'ten more probes' });
    const started = [];
    for (const { jobId } of during) {
      const job = (await queue.getJob(jobId))!;
      if (job.attemptsStarted > 0) started.push(jobId);
    }
    // A fetch already blocked in Redis when the worker paused may still return one job.
    expect(started.length).toBeLessThanOrEqual(1);
    expect(await queue.getWaitingCount()).toBeGreaterThanOrEqual(DURING_OUTAGE - 1);

    await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS true`);
    await waitFor(() => !agent.worker.isPaused() || undefined, { timeoutMs: 15_000, what: 'the worker to resume' });
    const all = before.length + DURING_OUTAGE;
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === all || undefined, {
      timeoutMs: 30_000,
      what: 'every job to complete',
    });
    expect((await readyz()).status).toBe(200);
    // The jobs that waited ran once each: the outage spent none of their attempts.
    for (const { jobId } of during) {
      const rows = await t.db
        .selectFrom('autonomous_tasks')
        .select(['attempt', 'status'])
        .where('job_id', '=', jobId)
        .execute();
      if (started.includes(jobId)) expect(rows.at(-1)?.status).toBe('completed');
      else expect(rows).toEqual([{ attempt: 1, status: 'completed' }]);
    }
  });
});
