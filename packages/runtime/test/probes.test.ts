import { ConfigError } from '@fleet/config';
import { createProducer, type Producer } from '@fleet/queues';
import {
  adminQuery,
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_probes');
  r = createTestRedis('rt-probes');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(
    testAgent(async (payload) => {
      if ((payload as { retention_days?: number }).retention_days === 9) throw new Error('nope');
      return { output: {} };
    }),
    { env: agentEnv(t.url, r.url, r.prefix, { FLEET_INSTANCE_ID: 'probe-test#1' }) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

const get = (path: string) => fetch(`http://127.0.0.1:${agent.port}${path}`);

describe('probe endpoints', () => {
  it('/healthz answers 200 with the instance id while the agent runs', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', instance: 'probe-test#1' });
  });

  it('refuses a probe port that another process holds as a configuration error naming HTTP_PORT', async () => {
    const error = await startAgent(
      testAgent(async () => ({ output: {} })),
      { env: agentEnv(t.url, r.url, r.prefix, { HTTP_PORT: String(agent.port) }) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      `HTTP_PORT: port ${agent.port} on 127.0.0.1 is already in use by another process (EADDRINUSE); choose another HTTP_PORT`,
    ]);
  });

  it('/metrics counts jobs by status and reports queue depth and durations', async () => {
    await producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId });
    await producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId });
    await producer.enqueue('maintenance_queue', 'data_cleanup', { retention_days: 9 }, { attempts: 1 });
    await producer.enqueue('maintenance_queue', 'data_cleanup', {}, { delay: 60_000 });
    const text = await waitFor(
      async () => {
        const body = await (await get('/metrics')).text();
        return body.includes(
          'fleet_jobs_total{queue="maintenance_queue",job="data_cleanup",status="failed",agent="test-agent"} 1',
        ) && body.includes('status="completed",agent="test-agent"} 2')
          ? body
          : undefined;
      },
      { what: 'job counters' },
    );
    expect(text).toContain(
      'fleet_jobs_total{queue="maintenance_queue",job="system_health_check",status="completed",agent="test-agent"} 2',
    );
    expect(text).toContain('fleet_queue_depth{queue="maintenance_queue",state="delayed",agent="test-agent"} 1');
    expect(text).toContain(
      'fleet_job_duration_seconds_count{agent="test-agent",queue="maintenance_queue",job="system_health_check",status="completed"} 2',
    );
    expect(text).toContain(
      'fleet_job_duration_seconds_bucket{le="+Inf",agent="test-agent",queue="maintenance_queue",job="system_health_check",status="completed"} 2',
    );
    for (const state of ['waiting_for_slot', 'running', 'awaiting_commit']) {
      expect(text).toContain(`fleet_jobs_active{queue="maintenance_queue",state="${state}",agent="test-agent"} 0`);
    }
  });

  it('/readyz is 200 with Redis and Postgres up, 503 naming Postgres when its database is gone', async () => {
    const ok = await get('/readyz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ready', checks: { redis: 'ok', postgres: 'ok' } });

    await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS false`);
    await adminQuery(t.adminUrl, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [t.name]);
    try {
      const res = await waitFor(async () => {
        const r2 = await get('/readyz');
        return r2.status === 503 ? r2 : undefined;
      });
      const body = (await res.json()) as { checks: Record<string, string> };
      expect(body.checks.redis).toBe('ok');
      expect(body.checks.postgres).toMatch(/not currently accepting connections|terminat|Connection/i);
    } finally {
      await adminQuery(t.adminUrl, `ALTER DATABASE ${t.name} ALLOW_CONNECTIONS true`);
    }
    await waitFor(async () => (await get('/readyz')).status === 200 || undefined, { what: 'ready again' });
  });

  it('answers 404 with a hint for unknown paths', async () => {
    const res = await get('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found; try /healthz, /readyz or /metrics' });
  });
});
