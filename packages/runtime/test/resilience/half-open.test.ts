import { createProducer, type Producer } from '@fleet/queues';
import {
  createTestDatabase,
  createTestRedis,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from '../helpers.ts';
import { expectCleanOutcome, expectEveryReplicaTakesJobs, waitForTerminal } from './fixtures/outcome.ts';
import { type RedisServer, startRedisServer } from './fixtures/redis-server.ts';
import { createLedger, type Replicas, startReplicas } from './fixtures/replicas.ts';

const REPLICAS = 3;
const CONCURRENCY = 4;
/** Replicas 0 and 1 reach Postgres and Redis through the proxies; replica 2 directly. */
const BEHIND_PROXY = ['replica-0', 'replica-1'];
const QUERY_TIMEOUT_MS = 1_000;
const LOCK_MS = 2_000;
/** How long the Postgres path stays silent while attempts in flight are watched. */
const WATCH_MS = 14_000;
/**
 * The longest an attempt may last on a silent Postgres path: a new connection's connect timeout
 * (5 s, createDb's default) for the handler's query, then up to that again waiting for the audit
 * pool, plus slack. Without the timeouts an attempt would last as long as the silence.
 */
const MAX_ATTEMPT_MS = 12_000;

let t: TestDatabase;
let r: TestRedis;
let server: RedisServer;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let producer: Producer;
let queue: Queue;
let replicas: Replicas;
let workspaceId: string;
const allJobs: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_half_open');
  r = createTestRedis('rt-half-open');
  server = await startRedisServer();
  workspaceId = await createWorkspace(t.db);
  await createLedger(t.db);
  const pg = new URL(t.url);
  pgProxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
  redisProxy = await startTcpProxy({ host: '127.0.0.1', port: server.port });
  producer = createProducer({ redis: server.url, prefix: r.prefix });
  queue = new Queue('maintenance_queue', { connection: { url: server.url }, prefix: r.prefix });
  replicas = await startReplicas({
    count: REPLICAS,
    concurrency: CONCURRENCY,
    workMs: () => 20 + Math.random() * 60,
    env: (i) => {
      const proxied = i < BEHIND_PROXY.length;
      return agentEnv(
        proxied ? pgProxy.via(t.url) : t.url,
        proxied ? redisProxy.via(server.url) : server.url,
        r.prefix,
        {
          DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
          LOCK_DURATION_MS: String(LOCK_MS),
          STALLED_INTERVAL_MS: '500',
          MAX_STALLED_COUNT: '10',
          RECONCILE_INTERVAL_MS: '500',
          AUDIT_RUNNING_DELAY_MS: '50',
          // Each replica holds only the jobs it runs: the spread over replicas is what is watched.
          AUDIT_ACK_WINDOW: '0',
        },
      );
    },
  });
});

afterAll(async () => {
  // Heal every path first, so the replicas can say goodbye to Redis and Postgres.
  pgProxy?.restore('reset');
  redisProxy?.restore('reset');
  await replicas?.close();
  await producer?.close();
  await queue?.close();
  await Promise.allSettled([pgProxy?.close(), redisProxy?.close()]);
  await server?.destroy();
  await r?.cleanup();
  await t?.drop();
});

async function enqueue(n: number): Promise<string[]> {
  const ids = (
    await Promise.all(
      Array.from({ length: n }, () =>
        producer.enqueue(
          'maintenance_queue',
          'system_health_check',
          { workspace_id: workspaceId },
          { attempts: 20, backoff: { type: 'fixed', delay: 200 } },
        ),
      ),
    )
  ).map((j) => j.jobId);
  allJobs.push(...ids);
  return ids;
}

/** Waits until a replica behind the proxies runs jobs (its worker id prefixes their lock tokens). */
async function proxiedReplicaBusy(): Promise<void> {
  const workerIds = replicas.agents.slice(0, BEHIND_PROXY.length).map((a) => a.worker.id);
  await waitFor(
    async () => {
      for (const job of await queue.getJobs(['active'])) {
        const lock = await server.command('GET', `${r.prefix}:maintenance_queue:${job?.id}:lock`);
        if (typeof lock === 'string' && workerIds.some((id) => lock.startsWith(id))) return true;
      }
      return undefined;
    },
    { what: 'jobs in flight on a replica behind the proxies' },
  );
}

async function sideEffectsBy(): Promise<Map<string, number>> {
  const { rows } = await sql<{ replica: string; n: number }>`
    SELECT replica, count(*)::int AS n FROM handler_ledger GROUP BY replica`.execute(t.db);
  return new Map(rows.map((row) => [row.replica, row.n]));
}

/** Waits until each of `names` has recorded new side effects: its Postgres path works again. */
async function expectReplicasWriting(names: string[], before: Map<string, number>, timeoutMs: number) {
  await waitFor(
    async () => {
      const now = await sideEffectsBy();
      return names.every((n) => (now.get(n) ?? 0) > (before.get(n) ?? 0)) || undefined;
    },
    { timeoutMs, intervalMs: 100, what: `${names.join(', ')} to write to Postgres again` },
  );
}

describe('half-open paths: bytes stop flowing, nothing is closed', () => {
  it('Postgres: no attempt waits on the silent path past its timeouts; the replicas work again once it is back', {
    timeout: 60_000,
  }, async () => {
    const ids = await enqueue(150);
    await proxiedReplicaBusy();
    pgProxy.blackhole();
    const before = await sideEffectsBy();
    const completedBefore = (await queue.getJobCounts('completed')).completed!;

    // The proxied replicas take jobs whose queries are never answered, while their locks are
    // renewed over a healthy Redis path: nothing but the client-side timeouts (DB_QUERY_TIMEOUT_MS
    // on queries, pg's 5 s connect timeout on new connections and pool waits) ends those attempts.
    // Watch the attempts in flight for a while: none may outlive those timeouts.
    let oldest = 0;
    for (const until = Date.now() + WATCH_MS; Date.now() < until; ) {
      for (const job of await queue.getJobs(['active'])) {
        if (job?.processedOn) oldest = Math.max(oldest, Date.now() - job.processedOn);
      }
      // pacing of the observation, not a wait for an outcome
      await sleep(200);
    }
    expect(pgProxy.mode).toBe('blackhole');
    expect(oldest).toBeLessThan(MAX_ATTEMPT_MS);
    // Meanwhile replica 2 kept working, and the proxied replicas' attempts failed (to be retried).
    expect((await queue.getJobCounts('completed')).completed!).toBeGreaterThan(completedBefore);
    const { rows: failed } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM autonomous_tasks WHERE status = 'failed'`.execute(t.db);
    expect(failed[0]!.n).toBeGreaterThan(0);

    // The path comes back; the connections that went silent are reset, as the server answers
    // anything on them with an RST by now.
    pgProxy.restore('reset');
    const more = await enqueue(90);
    await expectReplicasWriting(BEHIND_PROXY, before, 10_000);
    await waitForTerminal(queue, allJobs.length, 30_000);
    await expectCleanOutcome(t.db, queue, [...ids, ...more]);
  });

  it('Redis: stalled jobs move to a healthy replica; the cut-off replicas fetch again once the path is back', {
    timeout: 60_000,
  }, async () => {
    const ids = await enqueue(150);
    await proxiedReplicaBusy();
    redisProxy.blackhole();

    // The proxied replicas can neither acknowledge their jobs nor renew the locks: once the locks
    // expire, replica 2 finds the jobs stalled and runs them again (a new attempt each).
    await waitForTerminal(queue, allJobs.length, 40_000);
    expect(redisProxy.mode).toBe('blackhole');

    // The partition heals: the held bytes arrive late (stale acknowledgements of lost locks).
    redisProxy.restore('resume');
    await expectEveryReplicaTakesJobs(replicas, producer, queue, workspaceId, CONCURRENCY, 10_000);
    await waitForTerminal(queue, allJobs.length, 30_000);
    const outcome = await expectCleanOutcome(t.db, queue, ids);
    // The jobs the cut-off replicas held were run again, each run its own attempt.
    expect(outcome.retriedJobs).toBeGreaterThan(0);
  });

  it('a path that stays dead for the old connections: the replicas drop them and reconnect', {
    timeout: 150_000,
  }, async () => {
    const ids = await enqueue(120);
    await proxiedReplicaBusy();
    pgProxy.blackhole();
    redisProxy.blackhole();
    const before = await sideEffectsBy();
    // New connections get through again, but the ones that went silent stay silent for good, as
    // behind a NAT entry that was lost: only the clients' own timeouts can notice (pg's query
    // timeout dropping the connection, ioredis' socketTimeout). Without them the proxied replicas
    // would hang on those sockets for the kernel's keepalive (minutes), or forever.
    pgProxy.restore('dead');
    redisProxy.restore('dead');
    // Keep work available until the proxied replicas are back (their Redis side notices the dead
    // socket after socketTimeout, 15 s) and write to Postgres again.
    const more: string[] = [];
    await waitFor(
      async () => {
        if ((await queue.getWaitingCount()) < 20) more.push(...(await enqueue(20)));
        const now = await sideEffectsBy();
        return BEHIND_PROXY.every((n) => (now.get(n) ?? 0) > (before.get(n) ?? 0)) || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the proxied replicas to run jobs again' },
    );
    await expectEveryReplicaTakesJobs(replicas, producer, queue, workspaceId, CONCURRENCY, 30_000);
    await waitForTerminal(queue, allJobs.length, 45_000);
    await expectCleanOutcome(t.db, queue, [...ids, ...more]);
  });
});
