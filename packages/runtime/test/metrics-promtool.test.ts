import { spawn } from 'node:child_process';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

/** `promtool check metrics` (Debian's prometheus package) on `text`: exit code and what it printed. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', (e) => reject(new Error(`promtool did not start (apt-get install prometheus): ${e.message}`)));
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_promtool');
  r = createTestRedis('rt-promtool');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(
    testAgent(async (payload) => {
      if ((payload as { retention_days?: number }).retention_days === 9) throw new Error('nope');
      return { output: {} };
    }),
    { env: agentEnv(t.url, r.url, r.prefix, { METRICS_PROCESS: 'true' }) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

describe('/metrics', () => {
  it('passes promtool check metrics with the process metrics on and jobs counted', async () => {
    await producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId });
    await producer.enqueue('maintenance_queue', 'data_cleanup', { retention_days: 9 }, { attempts: 1 });
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
        return body.includes('status="failed"') && body.includes('status="completed"') ? body : undefined;
      },
      { what: 'job counters' },
    );
    // The fleet's own series and the process ones are all there...
    for (const name of [
      'fleet_jobs_total',
      'fleet_job_duration_seconds_bucket',
      'fleet_queue_depth',
      'fleet_jobs_active',
      'process_cpu_seconds_total',
      'nodejs_active_handles',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`\n${name}`);
    }
    // ...and promtool has nothing to say about them.
    expect(await promtool(text)).toEqual({ code: 0, output: '' });
  });

  it('is what promtool refuses without the fix: prom-client’s defaults as they come', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const { code, output } = await promtool(await registry.metrics());
    expect(code).not.toBe(0);
    expect(output).toContain('nodejs_active_handles_total non-counter metrics should not have "_total" suffix');
  });
});
