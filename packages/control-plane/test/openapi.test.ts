import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, createTestRedis, seedWorkspaces, type TestDatabase, type TestRedis } from '@fleet/testing';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { isBrowserUi } from '../src/openapi.ts';
import { serializerCompiler } from '../src/schema-compilers.ts';
import { client, controlPlaneEnv } from './helpers.ts';

const run = promisify(execFile);

let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let call: ReturnType<typeof client>;
// biome-ignore lint/suspicious/noExplicitAny: the document is walked field by field
let doc: any;
const logLines: { level: number; msg: string }[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('cp_openapi');
  tredis = createTestRedis('cp-openapi');
  const log = pino({ level: 'warn' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
  cp = await startControlPlane({ env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix), log });
  call = client(cp.url);
  doc = (await call('GET', '/openapi.json', { key: null })).body;
});

afterAll(async () => {
  await cp?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

/** Every route of fastify's route table as `METHOD /path/{param}`, parsed from printRoutes(). */
function registeredRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)(?:└── |├── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('').replace(/\/+/g, '/');
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) out.push(`${method} ${path}`);
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('passes Redocly’s recommended rules with no error and no warning', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc));
      // Offline: no telemetry, no version check against the registry.
      const { stdout } = await run(
        'npx',
        ['--no-install', 'redocly', 'lint', file, '--extends=recommended', '--format=json'],
        {
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
        },
      ).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      const report = JSON.parse(stdout) as { totals: Record<string, number>; problems: { message: string }[] };
      expect(report.problems.map((p) => p.message)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has every route fastify serves, except the browser UI', () => {
    const routes = registeredRoutes(cp.app.printRoutes({ commonPrefix: false }))
      .filter((r) => !r.startsWith('HEAD '))
      .map((r) => r.replace(/:(\w+)/g, '{$1}'));
    const api = routes.filter((r) => !isBrowserUi(r.split(' ')[1]!));
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(api.length).toBeGreaterThan(20);
    expect(documented.sort()).toEqual(api.sort());
    // The browser UI is there too, just not documented as API.
    expect(routes).toEqual(expect.arrayContaining(['GET /dashboard', 'GET /admin/queues']));
  });

  it('gives every operation a camelCase operationId, a 2xx and 4xx answer with schemas', () => {
    const ops = Object.values(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap((item) =>
      Object.values(item),
    );
    for (const op of ops) {
      const id = String(op.operationId);
      expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/);
      const responses = op.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>;
      expect(
        Object.keys(responses).some((s) => s.startsWith('2')),
        id,
      ).toBe(true);
      expect(
        Object.keys(responses).some((s) => s.startsWith('4')),
        id,
      ).toBe(true);
      for (const [status, r] of Object.entries(responses)) {
        expect(r.content?.['application/json']?.schema, `${id} ${status}`).toBeDefined();
        if (status.startsWith('4')) {
          expect(r.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    expect(doc.servers).toHaveLength(1);
    expect(doc.info.license.name).toBeTruthy();
  });

  it('keeps one enqueue path per job with the job’s payload schema (what the compose harness reads)', () => {
    const op = doc.paths['/v1/jobs/media_transcription_queue/media_transcription'].post;
    const payload = op.requestBody.content['application/json'].schema.properties.payload;
    expect(payload.required).toEqual(expect.arrayContaining(['workspace_id', 'media_file_id']));
    expect(payload.additionalProperties).toBe(false);
    expect(op.operationId).toBe('enqueueMediaTranscription');
  });

  it('answers what it documents: every response of a tour of the API matches its schema', async () => {
    const [ws] = (await seedWorkspaces(tdb.db, 1)) as [string];
    const statuses = new Set<string>();
    const check = async (method: string, path: string, options: Parameters<typeof call>[2] = {}) => {
      const r = await call(method, path, options);
      statuses.add(`${r.status}`);
      return r;
    };
    const enqueue = '/v1/jobs/analytics_queue/daily_analytics_rollup';
    const first = await check('POST', enqueue, {
      body: { payload: { workspace_id: ws }, delay_ms: 60_000 },
      headers: { 'idempotency-key': 'tour-1' },
    });
    expect(first.status).toBe(201);
    await check('POST', enqueue, {
      body: { payload: { workspace_id: ws }, delay_ms: 60_000, idempotency_key: 'tour-1' },
    });
    await check('GET', `/v1/tasks/${first.body.job_id}?queue=analytics_queue`);
    await check('GET', `/v1/tasks?workspace_id=${ws}`);
    expect((await check('POST', `/v1/tasks/${first.body.job_id}/cancel?queue=analytics_queue`)).status).toBe(200);
    expect((await check('POST', `/v1/tasks/${first.body.task_id}/retry`)).status).toBe(201);
    await check('GET', `/v1/summary?workspace_id=${ws}`);
    await check('GET', '/v1/stats?hours=48');
    await check('GET', '/v1/queues');
    const key = await check('POST', '/v1/api-keys', { body: { name: 'tour', workspace_ids: [ws] } });
    await check('GET', '/v1/api-keys');
    await check('GET', '/v1/queues', { key: key.body.key });
    await check('DELETE', `/v1/api-keys/${key.body.id}`);
    await check('DELETE', '/v1/api-keys/nope');
    await check('GET', '/v1/tasks', { key: 'fleet_nope' });
    await check('POST', enqueue, { body: { payload: { workspace_id: 'x' } } });
    await check('POST', enqueue, {
      body: { payload: { workspace_id: ws }, idempotency_key: 'tour-1', priority: 3 },
    });
    await check('GET', '/healthz', { key: null });
    await check('GET', '/readyz', { key: null });
    expect([...statuses].sort()).toEqual(['200', '201', '400', '401', '403', '404', '409']);
    expect(logLines.filter((l) => l.msg === 'response does not match its documented schema')).toEqual([]);
  });

  it('logs a response that does not match its schema (the check above can fail)', async () => {
    const lines: { msg: string; route: string }[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const app = Fastify({ loggerInstance: log });
    app.setSerializerCompiler(serializerCompiler(app.log));
    app.get('/x', { schema: { response: { 200: z.object({ n: z.number() }) } } }, async () => ({ n: 'one' }));
    try {
      const r = await app.inject({ method: 'GET', url: '/x' });
      expect(r.json()).toEqual({ n: 'one' });
      expect(lines.map((l) => [l.msg, l.route])).toEqual([['response does not match its documented schema', '/x']]);
    } finally {
      await app.close();
    }
  });
});
