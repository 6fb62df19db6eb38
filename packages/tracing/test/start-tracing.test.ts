import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { startTracing, type Tracing, tracingEnv, withSpan } from '../src/index.ts';

const schema = z.object(tracingEnv);
let started: Tracing | null = null;

afterEach(async () => {
  await started?.shutdown();
  started = null;
  vi.unstubAllEnvs();
});

/** A stub OTLP/HTTP receiver: records each request's path and JSON body. */
async function otlpReceiver(): Promise<{
  url: string;
  received: Promise<{ path: string; body: unknown }>;
  server: Server;
}> {
  let deliver: (value: { path: string; body: unknown }) => void = () => {};
  const received = new Promise<{ path: string; body: unknown }>((resolve) => {
    deliver = resolve;
  });
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    deliver({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

describe('startTracing', () => {
  it('is off without OTEL_TRACES_EXPORTER or with `none`: nothing registered, BullMQ gets no telemetry', async () => {
    for (const env of [{}, { OTEL_TRACES_EXPORTER: 'none' }]) {
      started = startTracing(schema.parse(env), { serviceName: 'test' });
      expect(started.enabled).toBe(false);
      expect(started.bullmq).toBeUndefined();
      const span = trace.getTracer('t').startSpan('s');
      expect(span.isRecording()).toBe(false);
      span.end();
      // withSpan still runs its function and hands back its value.
      await expect(withSpan('x', {}, async () => 42)).resolves.toBe(42);
      await started.shutdown();
    }
  });

  it('rejects an exporter it does not know, naming the choices', () => {
    const result = schema.safeParse({ OTEL_TRACES_EXPORTER: 'jaeger' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('none, otlp, console');
    expect(schema.safeParse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).success).toBe(false);
  });

  it('exports over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_SERVICE_NAME, nested by context', async () => {
    const receiver = await otlpReceiver();
    try {
      // The exporter and the resource read the process environment, as in a container.
      vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url);
      vi.stubEnv('OTEL_SERVICE_NAME', 'traced-service');
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment.name=test');
      started = startTracing(schema.parse({ ...process.env, OTEL_TRACES_EXPORTER: 'otlp' }), {
        serviceName: 'fallback-name',
      });
      expect(started.enabled).toBe(true);
      expect(started.bullmq).toBeDefined();
      expect(() => startTracing(schema.parse({ OTEL_TRACES_EXPORTER: 'otlp' }), { serviceName: 'again' })).toThrow(
        /already started/,
      );
      await withSpan('outer', { attributes: { 'fleet.queue': 'q' } }, async () => {
        await withSpan('inner', {}, async () => {
          expect(trace.getSpan(context.active())?.isRecording()).toBe(true);
        });
      });
      await started.shutdown();

      const { path, body } = await receiver.received;
      expect(path).toBe('/v1/traces');
      const resourceSpans = (body as { resourceSpans: Array<Record<string, unknown>> }).resourceSpans;
      const resource = resourceSpans[0]!.resource as {
        attributes: Array<{ key: string; value: { stringValue?: string } }>;
      };
      const attr = (key: string) => resource.attributes.find((a) => a.key === key)?.value.stringValue;
      expect(attr('service.name')).toBe('traced-service');
      expect(attr('deployment.environment.name')).toBe('test');
      const spans = resourceSpans.flatMap((rs) =>
        (
          rs.scopeSpans as Array<{
            spans: Array<{ name: string; spanId: string; parentSpanId?: string; traceId: string }>;
          }>
        ).flatMap((ss) => ss.spans),
      );
      const outer = spans.find((s) => s.name === 'outer')!;
      const inner = spans.find((s) => s.name === 'inner')!;
      expect(inner.traceId).toBe(outer.traceId);
      expect(inner.parentSpanId).toBe(outer.spanId);
      // After shutdown the API is a no-op again.
      expect(trace.getTracer('t').startSpan('after').isRecording()).toBe(false);
    } finally {
      receiver.server.close();
    }
  });
});
