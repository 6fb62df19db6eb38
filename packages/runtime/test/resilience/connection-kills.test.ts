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
import { agentEnv, createWorkspace } from '../helpers.ts';
import { expectCleanOutcome, expectEveryReplicaTakesJobs, waitForTerminal } from './fixtures/outcome.ts';
import { type RedisServer, startRedisServer } from './fixtures/redis-server.ts';
import { createLedger, type Replicas, startReplicas } from './fixtures/replicas.ts';

const JOBS = 480;
const REPLICAS = 3;
const CONCURRENCY = 4;
const ROUNDS = 12;

let t: TestDatabase;
let r: TestRedis;
let server: RedisServer;
let producer: Producer;
let queue: Queue;
let replicas: Replicas;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_conn_kills');
  // Only the key prefix: connections are killed on a redis-server of this file's own.
  r = createTestRedis('rt-conn-kills');
  server = await startRedisServer();
  workspaceId = await createWorkspace(t.db);
  await createLedger(t.db);
  producer = createProducer({ redis: server.url, prefix: r.prefix });
  queue = new Queue('maintenance_queue', { connection: { url: server.url }, prefix: r.prefix });
  queue.on('error', () => {});
  replicas = await startReplicas({
    count: REPLICAS,
    concurrency: CONCURRENCY,
    // Long enough that every round finds jobs in flight.
    workMs: () => 100 + Math.random() * 100,
    env: () =>
      agentEnv(t.url, server.url, r.prefix, {
        LOCK_DURATION_MS: '2000',
        STALLED_INTERVAL_MS: '500',
        MAX_STALLED_COUNT: '10',
        RECONCILE_INTERVAL_MS: '500',
        AUDIT_RUNNING_DELAY_MS: '50',
        // Each replica holds only the jobs it runs: the spread over replicas is what is watched.
        AUDIT_ACK_WINDOW: '0',
        DB_QUERY_TIMEOUT_MS: '3000',
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

/** Kills every client connection of the server (workers, blocking and subscriber ones included). */
async function killAllRedisClients(): Promise<number> {
  const normal = Number(await server.command('CLIENT', 'KILL', 'TYPE', 'normal'));
  const pubsub = Number(await server.command('CLIENT', 'KILL', 'TYPE', 'pubsub'));
  return normal + pubsub;
}

/** Kills a random half of the client connections, by address: some replicas lose one of several. */
async function killSomeRedisClients(): Promise<number> {
  const list = String(await server.command('CLIENT', 'LIST'));
  const addrs = [...list.matchAll(/\baddr=(\S+)/g)].map((m) => m[1]!);
  let killed = 0;
  for (const addr of addrs) {
    if (Math.random() < 0.5) continue;
    killed += Number(await server.command('CLIENT', 'KILL', 'ADDR', addr));
  }
  return killed;
}

/** Terminates the agents' Postgres sessions (handler pools and audit writers), not the test's. */
async function terminateAgentSessions(): Promise<number> {
  const { rowCount } = await adminQuery(
    t.adminUrl,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = $1 AND application_name LIKE 'fleet-test-agent%'`,
    [t.name],
  );
  return rowCount ?? 0;
}

describe('connections killed again and again while three replicas work a queue', () => {
  it('loses nothing and duplicates nothing', { timeout: 100_000 }, async () => {
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

    const killed = { redisAll: 0, redisSome: 0, postgres: 0 };
    let completed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Each round strikes while jobs are in flight, after some progress since the last one.
      completed = await waitFor(
        async () => {
          const c = await queue.getJobCounts('completed', 'active');
          return (c.completed! >= completed + 10 && c.active! > 0 && c.completed!) || undefined;
        },
        { timeoutMs: 30_000, what: `progress before round ${round}` },
      );
      if (round % 3 === 0) killed.redisAll += await killAllRedisClients();
      else if (round % 3 === 1) killed.redisSome += await killSomeRedisClients();
      else killed.postgres += await terminateAgentSessions();
    }
    expect(killed.redisAll).toBeGreaterThan(0);
    expect(killed.redisSome).toBeGreaterThan(0);
    expect(killed.postgres).toBeGreaterThan(0);

    await waitForTerminal(queue, JOBS, 60_000);
    await expectCleanOutcome(t.db, queue, jobIds);

    // After all that, no replica has quietly stopped fetching.
    await expectEveryReplicaTakesJobs(replicas, producer, queue, workspaceId, CONCURRENCY, 8_000);
  });
});
