/**
 * One trace from an HTTP enqueue to the audit write: the control plane's request span, the
 * producer's enqueue and pending row, BullMQ's add and process (the job carries the context),
 * the runtime's attempt, the handler and the terminal audit write. Real Postgres and Redis; the
 * spans go to an in-memory exporter.
 */
import { defineAgent, type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { startTracing, type Tracing } from '@fleet/tracing';
import { type SpanContext, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { client, controlPlaneEnv } from './helpers.ts';

const QUEUE = 'maintenance_queue';
const JOB = 'system_health_check';

let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let agent: RunningAgent;
let tracing: Tracing;
let call: ReturnType<typeof client>;
let workspaceId: string;
const exporter = new InMemorySpanExporter();
/** The span active in each handler call, by job id: handler code sees its own span. */
const handlerSpans = new Map<string, SpanContext | undefined>();

beforeAll(async () => {
  tdb = await createTestDatabase('cp_tracing');
  tredis = createTestRedis('cp-tracing');
  workspaceId = await createWorkspace(tdb.db);
  tracing = startTracing({}, { serviceName: 'tracing-test', spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  cp = await startControlPlane({ env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix), tracing });
  agent = await startAgent(
    defineAgent({
      name: 'tracing-agent',
      queue: QUEUE,
      concurrency: 2,
      handlers: {
        [JOB]: async (_payload, ctx) => {
          handlerSpans.set(String(ctx.job.id), trace.getActiveSpan()?.spanContext());
          return { output: { ok: true } };
        },
      },
    }),
    {
      env: {
        DATABASE_URL: tdb.url,
        REDIS_URL: tredis.url,
        QUEUE_PREFIX: tredis.prefix,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        LOG_PRETTY: 'false',
        METRICS_PROCESS: 'false',
      },
      tracing,
    },
  );
  call = client(cp.url);
});

afterAll(async () => {
  await agent?.close(5_000);
  await cp?.close();
  await tracing?.shutdown();
  await tredis?.cleanup();
  await tdb?.drop();
});

beforeEach(() => exporter.reset());

/** Enqueues over HTTP and waits for the attempt's last span (BullMQ's process) to end. */
async function enqueueAndWait(headers: Record<string, string> = {}) {
  const res = await call('POST', `/v1/jobs/${QUEUE}/${JOB}`, {
    body: { payload: { workspace_id: workspaceId } },
    headers,
  });
  expect(res.status, res.text).toBe(201);
  const jobId = res.body.job_id as string;
  const spans = await waitFor(
    () => {
      const all = exporter.getFinishedSpans();
      return all.some((s) => s.name === `process ${QUEUE}` && s.attributes['bullmq.job.id'] === jobId) && all;
    },
    { timeoutMs: 15_000, what: 'the process span of the job' },
  );
  return { jobId, taskId: res.body.task_id as string, spans };
}

function only(spans: ReadableSpan[], name: string, filter: (s: ReadableSpan) => boolean = () => true): ReadableSpan {
  const found = spans.filter((s) => s.name === name && filter(s));
  expect(
    found.map((s) => s.name),
    `spans named ${name}`,
  ).toEqual([name]);
  return found[0]!;
}

function expectChild(child: ReadableSpan, parent: ReadableSpan): void {
  expect(child.spanContext().traceId, `${child.name} in the trace of ${parent.name}`).toBe(
    parent.spanContext().traceId,
  );
  expect(child.parentSpanContext?.spanId, `${child.name} is a child of ${parent.name}`).toBe(
    parent.spanContext().spanId,
  );
}

describe('tracing', () => {
  it('follows one job from the HTTP enqueue through BullMQ to the handler and the audit write', async () => {
    const { jobId, taskId, spans } = await enqueueAndWait();
    const row = await tdb.db
      .selectFrom('autonomous_tasks')
      .select(['id', 'status', 'attempt'])
      .where('job_id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ id: taskId, status: 'completed', attempt: 1 });

    const ofJob = (s: ReadableSpan) =>
      s.attributes['fleet.job_id'] === jobId || s.attributes['bullmq.job.id'] === jobId;
    const http = only(spans, `POST /v1/jobs/${QUEUE}/${JOB}`);
    const enqueue = only(spans, `enqueue ${QUEUE}.${JOB}`, ofJob);
    const pending = only(spans, 'audit pending', ofJob);
    const add = only(spans, `add ${QUEUE}.${JOB}`, ofJob);
    const process = only(spans, `process ${QUEUE}`, ofJob);
    const attempt = only(spans, `attempt ${QUEUE}.${JOB}`, ofJob);
    const handler = only(spans, `handler ${JOB}`, ofJob);
    const completed = only(spans, 'audit completed', ofJob);

    // The tree: the request is the root; the job's context crosses Redis between add and process.
    expect(http.parentSpanContext).toBeUndefined();
    expect(http.kind).toBe(SpanKind.SERVER);
    expectChild(enqueue, http);
    expectChild(pending, enqueue);
    expectChild(add, enqueue);
    expect(add.kind).toBe(SpanKind.PRODUCER);
    expectChild(process, add);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expectChild(attempt, process);
    expectChild(handler, attempt);
    expectChild(completed, attempt);
    expect(new Set(spans.filter(ofJob).map((s) => s.spanContext().traceId))).toEqual(
      new Set([http.spanContext().traceId]),
    );
    // The handler's code runs inside its span (its own spans and outgoing calls join the trace).
    expect(handlerSpans.get(jobId)?.spanId).toBe(handler.spanContext().spanId);

    const identity = {
      'fleet.queue': QUEUE,
      'fleet.job_name': JOB,
      'fleet.job_id': jobId,
      'fleet.attempt': 1,
      'fleet.workspace_id': workspaceId,
      'fleet.task_id': row.id,
    };
    expect(attempt.attributes).toMatchObject({ ...identity, 'fleet.agent': 'tracing-agent' });
    expect(handler.attributes).toMatchObject(identity);
    expect(completed.attributes).toMatchObject({
      'fleet.queue': QUEUE,
      'fleet.job_id': jobId,
      'fleet.attempt': 1,
      'fleet.task_id': row.id,
      'fleet.audit.status': 'completed',
      'db.system.name': 'postgresql',
      'db.collection.name': 'autonomous_tasks',
    });
    expect(completed.attributes['fleet.audit.batch_rows']).toBeGreaterThanOrEqual(1);
    expect(pending.attributes).toMatchObject({ 'fleet.task_id': row.id, 'fleet.audit.status': 'pending' });
    expect(http.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': `/v1/jobs/${QUEUE}/${JOB}`,
      'http.response.status_code': 201,
      'fleet.job_id': jobId,
      'fleet.task_id': row.id,
    });
    expect(enqueue.attributes).toMatchObject({ 'fleet.queue': QUEUE, 'fleet.job_id': jobId, 'fleet.created': true });
    // The attempt's span ends once its terminal row is durable, and BullMQ acknowledges after it.
    const endMs = (s: ReadableSpan) => s.endTime[0] * 1e3 + s.endTime[1] / 1e6;
    expect(endMs(completed)).toBeLessThanOrEqual(endMs(attempt));
    expect(endMs(attempt)).toBeLessThanOrEqual(endMs(process));
    for (const s of [http, enqueue, pending, add, process, attempt, handler, completed]) {
      expect(s.status.code, `${s.name} status`).not.toBe(2);
      expect(s.resource.attributes['service.name']).toBe('tracing-test');
    }
  });

  it("continues the caller's trace from a W3C traceparent header", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const { jobId, spans } = await enqueueAndWait({ traceparent: `00-${traceId}-${callerSpan}-01` });
    const http = only(spans, `POST /v1/jobs/${QUEUE}/${JOB}`);
    expect(http.spanContext().traceId).toBe(traceId);
    expect(http.parentSpanContext?.spanId).toBe(callerSpan);
    const attempt = only(spans, `attempt ${QUEUE}.${JOB}`, (s) => s.attributes['fleet.job_id'] === jobId);
    expect(attempt.spanContext().traceId).toBe(traceId);
  });
});
