import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { createTestDatabase, createTestRedis, seedWorkspaces, type TestDatabase, type TestRedis } from '@fleet/testing';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { type Base, type Case, type Operation, operations, props, SQL } from './fuzz-cases.ts';
import { CLASSES, type FuzzContext } from './fuzz-classes.ts';
import { ADMIN_KEY, client, controlPlaneEnv } from './helpers.ts';
import { rawRequest } from './raw-http.ts';

/**
 * Drives every operation of /openapi.json with classes of hostile input and checks each answer:
 * a 4xx in the project's JSON error shape, with no stack trace or SQL text, and nothing enqueued
 * or written (Postgres and Redis compared before and after each group of cases).
 */
let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let redis: Redis;
let logger: AuditWriter;
let ctx: FuzzContext;
let ops: Operation[];

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  tdb = await createTestDatabase('cp_fuzz');
  tredis = createTestRedis('cp-fuzz');
  // A budget no fuzz run reaches: a 429 would hide how the request itself is handled.
  cp = await startControlPlane({
    env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix, { RATE_LIMIT_PER_MINUTE: '1000000' }),
  });
  redis = new Redis(tredis.url);
  logger = createAuditWriter({ db: tdb.db });
  const call = client(cp.url);
  const [wsA, wsB] = (await seedWorkspaces(tdb.db, 2)) as [string, string];
  const keyA = (await call('POST', '/v1/api-keys', { body: { name: 'A', workspace_ids: [wsA] } })).body;
  const keyB = (await call('POST', '/v1/api-keys', { body: { name: 'B', workspace_ids: [wsB] } })).body;
  const revoked = (await call('POST', '/v1/api-keys', { body: { name: 'old', workspace_ids: [wsA] } })).body;
  await call('DELETE', `/v1/api-keys/${revoked.id}`);
  // A's data that B's key aims at: a job that could still be cancelled, and a finished task.
  const queuedA = (
    await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      key: keyA.key,
      body: { payload: { workspace_id: wsA }, delay_ms: 3_600_000 },
    })
  ).body;
  const finishedA = await call('POST', '/v1/jobs/analytics_queue/weekly_report_generation', {
    key: keyA.key,
    body: { payload: { workspace_id: wsA }, delay_ms: 3_600_000 },
  });
  await call('POST', `/v1/tasks/${finishedA.body.job_id}/cancel`, { key: keyA.key });
  const login = await fetch(`${cp.url}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `key=${encodeURIComponent(keyA.key)}`,
    redirect: 'manual',
  });
  const sessionCookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const [name, value] = sessionCookie.split('=') as [string, string];

  // The probes and the document itself take no input and need no key (`security: []`).
  ops = operations((await call('GET', '/openapi.json', { key: null })).body).filter((op) => !op.public);
  const adminOnly = new Set(['listQueues', 'listApiKeys', 'createApiKey', 'revokeApiKey']);
  const validPayload = (op: Operation) => {
    const schema = props(op.body?.schema).properties.payload as Record<string, unknown>;
    const { properties, required } = props(schema);
    return Object.fromEntries(
      required.map((k) => [k, k === 'workspace_id' ? wsA : properties[k]!.format === 'uuid' ? NO_SUCH_ID : 'x']),
    );
  };
  const fleet = (op: Operation) => op.id === 'enqueueSystemHealthCheck' || op.id === 'enqueueDataCleanup';
  ctx = {
    port: cp.port,
    base(op) {
      const key = adminOnly.has(op.id) || fleet(op) ? ADMIN_KEY : keyA.key;
      const b: Base = { key, pathParams: { id: NO_SUCH_ID }, query: [] };
      if (op.id.startsWith('enqueue')) b.body = { payload: validPayload(op) };
      if (op.id === 'createApiKey') b.body = { name: 'fuzz', workspace_ids: [wsA] };
      if (op.id === 'getSummary') b.query = [['workspace_id', wsA]];
      return b;
    },
    otherWorkspace(op) {
      const b = ctx.base(op);
      const ids: Record<string, string> = {
        getTask: queuedA.task_id,
        cancelTask: queuedA.job_id,
        retryTask: finishedA.body.job_id,
        revokeApiKey: keyA.id,
      };
      const query: [string, string][] = ['listTasks', 'getSummary', 'getStats'].includes(op.id)
        ? [['workspace_id', wsA]]
        : [];
      return { ...b, key: keyB.key, pathParams: { id: ids[op.id] ?? NO_SUCH_ID }, query };
    },
    badKeys: [
      { what: 'no key', headers: {} },
      { what: 'an unknown key', headers: { authorization: 'Bearer fleet_00000000_unknown' } },
      { what: 'a revoked key', headers: { authorization: `Bearer ${revoked.key}` } },
      { what: 'Bearer without a key', headers: { authorization: 'Bearer' } },
      { what: 'Basic credentials', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
      { what: 'two words after Bearer', headers: { authorization: `Bearer ${keyA.key} extra` } },
      { what: 'a 300-character key', headers: { authorization: `Bearer ${'k'.repeat(300)}` } },
      { what: 'an empty X-API-Key', headers: { 'x-api-key': '' } },
      { what: 'an unknown X-API-Key', headers: { 'x-api-key': 'nope' } },
      {
        what: 'the admin key with one character changed',
        headers: { authorization: `Bearer ${ADMIN_KEY.slice(0, -1)}X` },
      },
    ],
    sessionCookie,
    badCookies: [
      'fleet_session=%E0%A4%A',
      'fleet_session=',
      'fleet_session=abc',
      'fleet_session=a.b',
      `${name}=${value.slice(0, -2)}xx`,
      `${name}=${value.split('.')[0]}`,
      `fleet_session=${Buffer.from('{"kid":"admin","exp":99999999999999}').toString('base64url')}.forged`,
      `fleet_session=${'a'.repeat(6_000)}`,
      `fleet_session=%E0%A4%A; ${sessionCookie}`,
      'fleet_session=%00',
    ],
  };
});

afterAll(async () => {
  await logger?.close();
  redis?.disconnect();
  await cp?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

/** Everything a request could have written: rows and keys in Postgres, keys and their sizes in Redis. */
async function fingerprint(): Promise<string> {
  const { rows } = await sql<Record<string, unknown>>`
    SELECT (SELECT count(*) FROM autonomous_tasks) AS tasks,
           (SELECT max(updated_at)::text FROM autonomous_tasks) AS tasks_updated,
           (SELECT string_agg(status || ':' || coalesce(error_message, ''), ',' ORDER BY id) FROM autonomous_tasks) AS statuses,
           (SELECT count(*) FROM idempotency_keys) AS idempotency_keys,
           (SELECT count(*) || '/' || count(revoked_at) FROM api_keys) AS api_keys,
           (SELECT count(*) FROM unconfirmed_enqueues) AS unconfirmed,
           (SELECT count(*) FROM workspaces) AS workspaces`.execute(tdb.db);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${tredis.prefix}*`, 'COUNT', 1000);
    cursor = next;
    // The rate limiter's counters move with every request; they are not jobs.
    keys.push(...batch.filter((k) => !k.includes(':control-plane:rate:')));
  } while (cursor !== '0');
  keys.sort();
  const pipe = redis.pipeline();
  for (const k of keys) pipe.eval("local t = redis.call('TYPE', KEYS[1]).ok; return t", 1, k);
  const types = ((await pipe.exec()) ?? []).map(([, t]) => String(t));
  const sizes = redis.pipeline();
  keys.forEach((k, i) => {
    const t = types[i];
    if (t === 'list') sizes.llen(k);
    else if (t === 'zset') sizes.zcard(k);
    else if (t === 'hash') sizes.hlen(k);
    else if (t === 'set') sizes.scard(k);
    else if (t === 'stream') sizes.xlen(k);
    else sizes.strlen(k);
  });
  const lengths = ((await sizes.exec()) ?? []).map(([, n]) => n);
  return JSON.stringify({ pg: rows[0], redis: keys.map((k, i) => `${k}:${types[i]}:${lengths[i]}`) });
}

/** What differs between two fingerprints, briefly. */
function changes(before: string, after: string): string {
  const a = JSON.parse(before) as { pg: Record<string, unknown>; redis: string[] };
  const b = JSON.parse(after) as { pg: Record<string, unknown>; redis: string[] };
  const pg = Object.keys(b.pg)
    .filter((k) => a.pg[k] !== b.pg[k])
    .map((k) => `${k} ${a.pg[k]} → ${b.pg[k]}`);
  const redis = b.redis.filter((k) => !a.redis.includes(k)).map((k) => `+${k}`);
  return [...pg, ...redis].join(', ');
}

const STACK = /\n\s+at |node_modules|\.ts:\d+|\.js:\d+/;
const SQL_TEXT =
  /syntax error at or near|invalid input syntax|invalid byte sequence|violates .* constraint|relation "|column "|duplicate key value|out of range for type|SQLSTATE|pg_catalog|unterminated quoted|\b(SELECT|INSERT INTO|DELETE FROM)\b/i;

async function send(c: Case): Promise<{ status: number; type: string; text: string }> {
  if (c.req.raw !== undefined) {
    const r = await rawRequest(ctx.port, Buffer.from(c.req.raw, 'latin1'));
    return { status: r.status, type: r.headers['content-type'] ?? '', text: r.body };
  }
  const url = `${cp.url}${c.req.path}${c.req.query ? `?${c.req.query}` : ''}`;
  const res = await fetch(url, { method: c.req.method, headers: c.req.headers, body: c.req.body, redirect: 'manual' });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** What is wrong with the answer to `c`, or null. */
function problemWith(c: Case, r: { status: number; type: string; text: string }): string | null {
  if (r.status < 400 || r.status > 499) return `status ${r.status}: ${r.text.slice(0, 200)}`;
  if (!r.type.startsWith('application/json')) return `content-type ${r.type || '(none)'}`;
  let body: { error?: { code?: unknown; message?: unknown } } | null = null;
  try {
    body = JSON.parse(r.text);
  } catch {
    return `not JSON: ${r.text.slice(0, 120)}`;
  }
  const keys = Object.keys(body ?? {});
  if (keys.join() !== 'error' || typeof body?.error?.code !== 'string' || typeof body.error.message !== 'string') {
    return `not {error:{code,message}}: ${r.text.slice(0, 120)}`;
  }
  let scanned = r.text;
  for (const input of c.inputs) {
    for (const form of [input, JSON.stringify(input).slice(1, -1)]) if (form) scanned = scanned.replaceAll(form, '');
  }
  if (STACK.test(scanned)) return `stack trace in ${r.text.slice(0, 200)}`;
  if (SQL_TEXT.test(scanned)) return `SQL text in ${r.text.slice(0, 200)}`;
  return null;
}

describe('hostile input on every operation of /openapi.json', () => {
  it('gets a 4xx in the JSON error shape, leaks nothing and changes nothing', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const problems: string[] = [];
    const perClass: Record<string, number> = {};
    const statuses: Record<number, number> = {};
    let requests = 0;
    for (const op of ops) {
      for (const [cls, generate] of Object.entries(CLASSES)) {
        const cases: Case[] = [];
        generate(op, ctx, (what, req, inputs = []) => cases.push({ op: op.id, cls, what, req, inputs }));
        if (cases.length === 0) continue;
        const before = await fingerprint();
        for (let i = 0; i < cases.length; i += 16) {
          await Promise.all(
            cases.slice(i, i + 16).map(async (c) => {
              const r = await send(c);
              statuses[r.status] = (statuses[r.status] ?? 0) + 1;
              const problem = problemWith(c, r);
              if (problem) problems.push(`${c.op} [${c.cls}] ${c.what}: ${problem}`);
            }),
          );
        }
        requests += cases.length;
        perClass[cls] = (perClass[cls] ?? 0) + cases.length;
        const after = await fingerprint();
        if (after !== before) problems.push(`${op.id} [${cls}]: state changed: ${changes(before, after)}`);
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ${requests} requests, ${Object.keys(perClass).length} classes, ${ops.length} operations, ` +
        `${problems.length} problems, ${seconds} s\n  per class: ${JSON.stringify(perClass)}\n  statuses: ${JSON.stringify(statuses)}`,
    );
    expect(problems).toEqual([]);
    expect(ops.length).toBeGreaterThanOrEqual(20);
    expect(Object.keys(perClass)).toHaveLength(Object.keys(CLASSES).length);
  });

  it('treats SQL text in free-text filters as text: nothing matches, nothing changes', async () => {
    const before = await fingerprint();
    for (const v of [...SQL, '%', '_', '\\', '*']) {
      for (const name of ['job_id', 'queue']) {
        const r = await fetch(`${cp.url}/v1/tasks?${name}=${encodeURIComponent(v)}`, {
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        });
        expect(r.status, `${name}=${v}`).toBe(200);
        expect(((await r.json()) as { tasks: unknown[] }).tasks, `${name}=${v}`).toEqual([]);
      }
    }
    expect(await fingerprint()).toBe(before);
  });
});
