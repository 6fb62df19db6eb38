/**
 * An agent started with OTEL_TRACES_EXPORTER=otlp starts its own tracer provider, exports its
 * attempts' spans to OTEL_EXPORTER_OTLP_ENDPOINT and flushes them when it stops.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { taskRowId } from '@fleet/audit-writer';
import { createProducer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

interface OtlpSpan {
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: number | string } }>;
}
interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

let t: TestDatabase;
let r: TestRedis;
let server: Server;
let endpoint: string;
const bodies: OtlpBody[] = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_tracing');
  r = createTestRedis('rt-tracing');
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url === '/v1/traces') bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  server?.close();
  await r?.cleanup();
  await t?.drop();
});

describe('an agent with OTEL_TRACES_EXPORTER=otlp', () => {
  it('exports each attempt span, with the job identity and the row id, by the time it has stopped', async () => {
    // The OTLP exporter reads its endpoint from the process environment, as in a container.
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint);
    const workspaceId = await createWorkspace(t.db);
    const agent = await startAgent(
      testAgent(async () => ({ output: { ok: true } })),
      { env: agentEnv(t.url, r.url, r.prefix, { OTEL_TRACES_EXPORTER: 'otlp' }) },
    );
    const producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
    let jobId: string;
    try {
      ({ jobId } = await producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }));
      await waitFor(
        async () =>
          (await t.db.selectFrom('autonomous_tasks').select('status').where('job_id', '=', jobId).executeTakeFirst())
            ?.status === 'completed',
        { what: 'the completed row' },
      );
    } finally {
      await producer.close();
      await agent.close(5_000);
    }

    const resourceSpans = bodies.flatMap((b) => b.resourceSpans);
    const spans = resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    const attempt = spans.find((s) => s.name === 'attempt maintenance_queue.system_health_check');
    expect(attempt, `spans exported: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    const attr = (key: string) => {
      const value = attempt!.attributes.find((a) => a.key === key)?.value;
      return value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : undefined);
    };
    expect(attr('fleet.job_id')).toBe(jobId);
    expect(attr('fleet.attempt')).toBe(1);
    expect(attr('fleet.workspace_id')).toBe(workspaceId);
    expect(attr('fleet.task_id')).toBe(taskRowId({ queueName: 'maintenance_queue', jobId, attempt: 1 }));
    expect(spans.map((s) => s.name)).toEqual(
      expect.arrayContaining(['process maintenance_queue', 'handler system_health_check', 'audit completed']),
    );
    const serviceNames = resourceSpans.map(
      (rs) => rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
    );
    expect(new Set(serviceNames)).toEqual(new Set(['test-agent']));
  });
});
