/** The control plane logs each request once: method, route, status, time and key id, never a body. */
import { Writable } from 'node:stream';
import { createTestDatabase, createTestRedis, seedWorkspaces, type TestDatabase, type TestRedis } from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { client, controlPlaneEnv } from './helpers.ts';

let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let call: ReturnType<typeof client>;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  tdb = await createTestDatabase('cp_reqlog');
  tredis = createTestRedis('cp-reqlog');
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  cp = await startControlPlane({
    env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix),
    log: pino({ level: 'debug' }, destination),
  });
  call = client(cp.url);
});

afterAll(async () => {
  await cp?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

const ofRequest = (reqId: unknown) => lines.filter((l) => l.reqId === reqId);

describe('request log', () => {
  it('is one info line per request with method, route, status, ms and key id, and no body', async () => {
    const [ws] = await seedWorkspaces(tdb.db, 1);
    const before = lines.length;
    const created = await call('POST', '/v1/api-keys', { body: { name: 'BODY-MARKER-7731', workspace_ids: [ws] } });
    expect(created.status).toBe(201);
    const missing = await call('GET', '/v1/tasks/no-such-job?queue=analytics_queue', { key: created.body.key });
    expect(missing.status).toBe(404);
    const fresh = lines.slice(before);
    const requests = fresh.filter((l) => typeof l.route === 'string');
    expect(requests).toHaveLength(2);
    for (const line of requests) expect(ofRequest(line.reqId)).toEqual([line]);
    expect(requests[0]).toMatchObject({
      level: 30,
      method: 'POST',
      route: '/v1/api-keys',
      status: 201,
      keyId: 'admin',
      msg: expect.stringMatching(/^POST \/v1\/api-keys 201 \d+ms$/),
    });
    expect(requests[0]!.ms).toEqual(expect.any(Number));
    expect(requests[1]).toMatchObject({ route: '/v1/tasks/:id', status: 404, keyId: created.body.id });
    const text = JSON.stringify(fresh);
    expect(text).not.toContain('BODY-MARKER-7731');
    expect(text).not.toContain('no-such-job');
    expect(text).not.toContain(created.body.key);
  });

  it('logs probes at debug, so an idle control plane stays quiet at info', async () => {
    const before = lines.length;
    await call('GET', '/healthz', { key: null });
    await call('GET', '/readyz', { key: null });
    const probes = lines.slice(before).filter((l) => typeof l.route === 'string');
    expect(probes.map((l) => [l.route, l.level])).toEqual([
      ['/healthz', 20],
      ['/readyz', 20],
    ]);
  });
});
