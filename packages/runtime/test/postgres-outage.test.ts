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
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { sleep, testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

const JOBS = 300;

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let queue: Queue;
let agent: RunningAgent;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_pg_outage');
  r = createTestRedis('rt-pg-outage');
  workspaceId = await createWorkspace(t.db);
  // The producer writes no pending rows here: it must not depend on the database under test.
  producer = createProducer({ redis: r.url, prefix: r.prefix });
  queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  agent = await startAgent(
    testAgent(async () => {
      await sleep(20);
      return { output: { ok: true } };
    }, 20),
    { env: agentEnv(t.url, r.url, r.prefix, { DB_QUERY_TIMEOUT_MS: '2000', LOCK_DURATION_MS: '3000' }) },
  );
});

afterAll(async () => {
  await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS true`).catch(() => {});
  await agent?.close(5_000);
  await producer?.close();
  await queue?.close();
  await r.cleanup();
  await t.drop();
});

const terminate = () =>
  adminQuery(
    t.adminUrl,
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [t.name],
  );

describe('Postgres unreachable while jobs run', () => {
  it('fails attempts retryably and loses no audit row once it is back', { timeout: 90_000 }, async () => {
    const jobs = await Promise.all(
      Array.from({ length: JOBS }, () =>
        producer.enqueue(
          'maintenance_queue',
          'system_health_check',
          { workspace_id: workspaceId },
          {
            // Two attempts only: an outage must not spend them (the attempt is deferred instead).
            attempts: 2,
            backoff: { type: 'fixed', delay: 300 },
          },
        ),
      ),
    );
    await waitFor(async () => (await queue.getJobCounts('completed')).completed! > 20 || undefined, {
      what: 'some progress',
    });

    // Outage: the database refuses connections, and existing ones are cut, for a while.
    await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS false`);
    await terminate();
    // Long enough that jobs start a third time: with two attempts allowed, only deferring the
    // unrecordable attempts (instead of failing them) keeps those jobs alive.
    await waitFor(
      async () => {
        const jobs = await queue.getJobs(['delayed', 'wait', 'active'], 0, 100);
        return jobs.some((j) => j && j.attemptsStarted >= 3) || undefined;
      },
      { timeoutMs: 30_000, what: 'jobs deferred through the outage' },
    );
    await terminate();
    await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS true`);

    // Flapping: connections killed again a few times while the backlog drains.
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => (await queue.getJobCounts('completed')).completed! > 60 * (i + 1) || undefined, {
        timeoutMs: 30_000,
        what: 'progress between kills',
      });
      await terminate();
    }

    await waitFor(
      async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return c.completed! + c.failed! === JOBS || undefined;
      },
      { timeoutMs: 60_000, what: 'every job to finish' },
    );
    await waitFor(
      async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM autonomous_tasks WHERE status IN ('pending', 'running')`.execute(t.db);
        return rows[0]!.n === 0 || undefined;
      },
      { timeoutMs: 20_000, what: 'no open rows' },
    );

    const rows = await t.db.selectFrom('autonomous_tasks').select(['job_id', 'attempt', 'status']).execute();
    const attemptsFailed = rows.filter((x) => x.status === 'failed').length;
    expect(attemptsFailed).toBeGreaterThan(0);
    for (const { jobId } of jobs) {
      const job = (await queue.getJob(jobId))!;
      expect(await job.getState()).toBe('completed');
      const mine = rows.filter((x) => x.job_id === jobId).sort((a, b) => a.attempt! - b.attempt!);
      expect(mine.map((x) => x.attempt)).toEqual(Array.from({ length: job.attemptsStarted }, (_, i) => i + 1));
      expect(mine.at(-1)!.status).toBe('completed');
    }
  });
});
