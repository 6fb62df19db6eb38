import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from '../helpers.ts';
import { expectCleanOutcome, expectEveryReplicaTakesJobs, waitForTerminal } from './fixtures/outcome.ts';
import { type RedisServer, startRedisServer } from './fixtures/redis-server.ts';
import { createLedger, type Replicas, startReplicas } from './fixtures/replicas.ts';

const JOBS = 240;
const REPLICAS = 3;
const CONCURRENCY = 4;
const LOCK_MS = 2_000;

let t: TestDatabase;
let r: TestRedis;
let server: RedisServer;
let producer: Producer;
let queue: Queue;
let replicas: Replicas;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_redis_restart');
  // Only the key prefix: this file restarts a redis-server of its own.
  r = createTestRedis('rt-redis-restart');
  server = await startRedisServer();
  workspaceId = await createWorkspace(t.db);
  await createLedger(t.db);
  producer = createProducer({ redis: server.url, prefix: r.prefix });
  queue = new Queue('maintenance_queue', { connection: { url: server.url }, prefix: r.prefix });
  // Its connection drops with the server too; the test reads again once the server is back.
  queue.on('error', () => {});
  replicas = await startReplicas({
    count: REPLICAS,
    concurrency: CONCURRENCY,
    env: () =>
      agentEnv(t.url, server.url, r.prefix, {
        LOCK_DURATION_MS: String(LOCK_MS),
        STALLED_INTERVAL_MS: '500',
        MAX_STALLED_COUNT: '10',
        RECONCILE_INTERVAL_MS: '500',
        AUDIT_RUNNING_DELAY_MS: '50',
        // Each replica holds only the jobs it runs: the spread over replicas is what is watched.
        AUDIT_ACK_WINDOW: '0',
      }),
  });
});

afterAll(async () => {
  await replicas?.close();
  await producer?.close();
  await queue?.close();
  await server?.destroy();
  await r?.cleanup();
  await t?.drop();
});

/** Waits until `n` jobs completed and some are running, so the outage hits jobs in flight. */
async function busyAfter(n: number): Promise<void> {
  await waitFor(
    async () => {
      const c = await queue.getJobCounts('completed', 'active');
      return (c.completed! >= n && c.active! > 0) || undefined;
    },
    { timeoutMs: 30_000, what: `${n} jobs completed and some active` },
  );
}

describe('Redis restarted while three replicas work a queue', () => {
  it('reconnects every worker; every job ends, one audit row per attempt, no attempt run twice', {
    timeout: 100_000,
  }, async () => {
    const jobIds = (
      await Promise.all(
        Array.from({ length: JOBS }, () =>
          producer.enqueue(
            'maintenance_queue',
            'system_health_check',
            { workspace_id: workspaceId },
            { attempts: 10, backoff: { type: 'fixed', delay: 100 } },
          ),
        ),
      )
    ).map((j) => j.jobId);

    // A quick restart (SHUTDOWN): the locks of jobs in flight outlive it.
    await busyAfter(40);
    await server.stop('shutdown');
    await server.start();

    // A longer one (SIGTERM): the locks expire while Redis is down, so the jobs that were running
    // can no longer be acknowledged by their workers and are run again (a new attempt).
    await busyAfter(120);
    await server.stop('sigterm');
    // pacing of the fault: stay down past the lock duration
    await sleep(LOCK_MS + 500);
    await server.start();

    await waitForTerminal(queue, JOBS, 60_000);
    const outcome = await expectCleanOutcome(t.db, queue, jobIds);
    // The outage really cut jobs short: some needed another attempt, and each got its own row.
    expect(outcome.retriedJobs).toBeGreaterThan(0);
    expect(outcome.attempts).toBeGreaterThan(JOBS);

    // BullMQ workers have been known to stop fetching after a reconnect without a word. Every
    // replica must take new jobs, promptly (well within the 5 s idle block of a worker).
    const ms = await expectEveryReplicaTakesJobs(replicas, producer, queue, workspaceId, CONCURRENCY, 8_000);
    expect(ms).toBeLessThan(8_000);
  });
});
