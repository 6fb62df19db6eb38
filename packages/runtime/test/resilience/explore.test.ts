import { createProducer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { startAgent } from '../../src/index.ts';
import { sleep, testAgent } from '../fixtures/test-agent.ts';
import { agentEnv, seedWorkspace } from '../helpers.ts';
import { startRedisServer } from './fixtures/redis-server.ts';
import { startTcpProxy } from './fixtures/tcp-proxy.ts';

const MODE = (process.env.EXPLORE ?? 'pg') as 'pg' | 'redis';
const STALE = (process.env.STALE ?? 'dead') as 'dead' | 'reset' | 'resume';

it('explore', { timeout: 120_000 }, async () => {
  const t = await createTestDatabase('explore');
  const r = createTestRedis('explore');
  const server = await startRedisServer();
  const ws = await seedWorkspace(t.db);
  await sql`CREATE TABLE ledger (job_id text, attempt int, at timestamptz default clock_timestamp())`.execute(t.db);
  const pgProxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
  const redisProxy = await startTcpProxy({ host: '127.0.0.1', port: server.port });
  const logs: string[] = [];
  const t0 = Date.now();
  const el = () => ((Date.now() - t0) / 1000).toFixed(1);
  const agent = await startAgent(
    testAgent(async (_p, ctx) => {
      await sql`INSERT INTO ledger (job_id, attempt) VALUES (${String(ctx.job.id)}, ${ctx.attempt})`.execute(ctx.db);
      await sleep(50);
      return { output: {} };
    }, 4),
    {
      env: agentEnv(pgProxy.via(t.url), redisProxy.via(server.url), r.prefix, {
        DB_QUERY_TIMEOUT_MS: '1000',
        LOCK_DURATION_MS: '2000',
        STALLED_INTERVAL_MS: '1000',
        MAX_STALLED_COUNT: '5',
        LOG_LEVEL: 'warn',
      }),
      logDestination: {
        write: (s: string) => {
          logs.push(`${el()} ${s.slice(0, 300)}`);
        },
      },
    },
  );
  const producer = createProducer({ redisUrl: server.url, prefix: r.prefix });
  const queue = new Queue('maintenance_queue', { connection: { url: server.url }, prefix: r.prefix });
  const add = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        producer.enqueue(
          'maintenance_queue',
          'system_health_check',
          { workspace_id: ws },
          { attempts: 20, backoff: { type: 'fixed', delay: 200 } },
        ),
      ),
    );
  await add(20);
  await waitFor(async () => (await queue.getJobCounts('completed')).completed === 20 || undefined);
  console.log(el(), 'phase1 ok; blackhole', MODE);
  const proxy = MODE === 'pg' ? pgProxy : redisProxy;
  proxy.blackhole();
  await add(20);
  for (let i = 0; i < 8; i++) {
    await sleep(1000);
    console.log(
      el(),
      'during',
      JSON.stringify(await queue.getJobCounts('completed', 'active', 'wait', 'delayed', 'failed')),
      'conns',
      proxy.connections,
      agent.worker.isRunning(),
    );
  }
  proxy.restore(STALE);
  console.log(el(), 'restored', STALE);
  const started = Date.now();
  try {
    await waitFor(
      async () => {
        const c = await queue.getJobCounts('completed', 'active', 'wait', 'delayed', 'failed');
        return c.completed === 40 || undefined;
      },
      { timeoutMs: 45_000, intervalMs: 1000 },
    );
    console.log(el(), 'recovered after', Date.now() - started);
  } catch (e) {
    console.log(
      el(),
      'NOT recovered',
      JSON.stringify(await queue.getJobCounts('completed', 'active', 'wait', 'delayed', 'failed')),
    );
  }
  console.log(
    logs
      .slice(0, 12)
      .map((l) => l.slice(0, 220))
      .join('\n'),
  );
  console.log(logs.length, 'log lines');
  await agent.close(2000);
  await producer.close();
  await queue.close();
  await pgProxy.close();
  await redisProxy.close();
  await server.destroy();
  await t.drop();
  expect(true).toBe(true);
});
