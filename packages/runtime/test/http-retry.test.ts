/**
 * The HTTP retry policy against a real local HTTP server: each test scripts the answers of the
 * next requests and reads back when they arrived.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  fetchWithRetry,
  HttpRequestError,
  type HttpRetryPolicy,
  RetryLaterError,
  retryAfterMs,
  withRetry,
} from '../src/index.ts';

type Reply = (req: IncomingMessage, res: ServerResponse) => void;

const ok: Reply = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
const status =
  (code: number, headers: Record<string, string> = {}): Reply =>
  (_req, res) =>
    res.writeHead(code, headers).end(`status ${code}`);
/** Closes the connection without an answer, as a crashing proxy does. */
const reset: Reply = (req) => req.socket.destroy();

let server: Server;
let url: string;
let script: Reply[] = [];
let arrivals: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    arrivals.push(Date.now());
    (script.shift() ?? ok)(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/thing`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  script = [];
  arrivals = [];
});

const fast: HttpRetryPolicy = { retries: 3, baseDelayMs: 5, maxDelayMs: 20, maxInlineWaitMs: 5_000 };

function get(policy: HttpRetryPolicy = fast, signal?: AbortSignal) {
  return fetchWithRetry(url, {}, { policy, what: 'test GET', timeoutMs: 5_000, ...(signal ? { signal } : {}) });
}

describe('fetchWithRetry', () => {
  it('waits the seconds a 429 Retry-After names, then returns the success', async () => {
    script = [status(429, { 'retry-after': '1' })];
    const answer = await get();
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('done');
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(950);
  });

  it('waits until the HTTP date a Retry-After names', async () => {
    // HTTP dates have whole seconds: two seconds ahead is between one and two seconds away.
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2_000);
    script = [status(429, { 'retry-after': at.toUTCString() })];
    const answer = await get();
    expect(answer.status).toBe(200);
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]!).toBeGreaterThanOrEqual(at.getTime() - 50);
  });

  it('retries a 503 with backoff and returns the last answer when it never clears', async () => {
    script = [status(503), status(503)];
    expect((await get()).status).toBe(200);
    expect(arrivals).toHaveLength(3);

    script = [status(503), status(503), status(503), status(503), status(503)];
    const last = await get();
    expect(last.status).toBe(503);
    expect(last.text).toBe('status 503');
    expect(arrivals).toHaveLength(3 + 1 + fast.retries);
  });

  it('does not retry an answer that is not transient', async () => {
    script = [status(404)];
    expect((await get()).status).toBe(404);
    expect(arrivals).toHaveLength(1);
  });

  it('retries a connection reset, and names the failure when every try is reset', async () => {
    script = [reset];
    expect((await get()).status).toBe(200);
    expect(arrivals).toHaveLength(2);

    script = [reset, reset, reset, reset];
    const error = await get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpRequestError);
    expect((error as HttpRequestError).timedOut).toBe(false);
    expect((error as Error).message).toMatch(/^test GET: request failed: fetch failed/);
    expect(arrivals).toHaveLength(2 + 1 + fast.retries);
  });

  it('hands a Retry-After longer than the inline limit to the runtime without sleeping', async () => {
    script = [status(429, { 'retry-after': '120' })];
    const error = await get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delayMs).toBe(120_000);
    expect((error as Error).message).toBe('test GET: HTTP 429; retrying in 120 s');
    expect(arrivals).toHaveLength(1);

    // A 503 asking for a long wait is handed over too.
    script = [status(503, { 'retry-after': '30' })];
    const later = await get().catch((e: unknown) => e);
    expect(later).toBeInstanceOf(RetryLaterError);
    expect((later as RetryLaterError).delayMs).toBe(30_000);
  });

  it('hands a rate limit that outlasts the retries to the runtime', async () => {
    script = [status(429), status(429), status(429), status(429)];
    const error = await get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(arrivals).toHaveLength(1 + fast.retries);
  });

  it('stops waiting at once when the signal aborts, with the signal’s reason', async () => {
    script = [status(429, { 'retry-after': '4' })];
    const controller = new AbortController();
    const pending = get(fast, controller.signal).catch((e: unknown) => e);
    await new Promise<void>((resolve) => {
      const check = () => (arrivals.length > 0 ? resolve() : setImmediate(check));
      check();
    });
    controller.abort(new Error('cancelled by operator'));
    expect(((await pending) as Error).message).toBe('cancelled by operator');
    expect(arrivals).toHaveLength(1);
  });

  it('times out a try that gets no answer, and does not retry it', async () => {
    script = [() => {}];
    const error = await fetchWithRetry(url, {}, { policy: fast, what: 'slow GET', timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpRequestError);
    expect((error as HttpRequestError).timedOut).toBe(true);
    expect((error as Error).message).toBe('slow GET: timed out after 200 ms');
    expect(arrivals).toHaveLength(1);
  });
});

describe('withRetry', () => {
  it('rethrows an error the caller calls final, after one try', async () => {
    let tries = 0;
    const error = await withRetry(
      async () => {
        tries++;
        throw new Error('bad request');
      },
      { policy: fast, what: 'x', transient: () => null },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('bad request');
    expect(tries).toBe(1);
  });

  it('reports each wait to onRetry', async () => {
    const waits: number[] = [];
    let tries = 0;
    const result = await withRetry(
      async () => {
        if (++tries < 3) throw new Error('busy');
        return 'ok';
      },
      {
        policy: fast,
        what: 'x',
        transient: () => ({ status: 529, retryAfterMs: 7 }),
        onRetry: (info) => waits.push(info.retry, info.delayMs),
      },
    );
    expect(result).toBe('ok');
    expect(waits).toEqual([1, 7, 2, 7]);
  });
});

describe('the parts', () => {
  it('reads Retry-After as seconds, an HTTP date or retry-after-ms', () => {
    const now = Date.parse('2026-03-10T15:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), now)).toBe(7_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 10 Mar 2026 15:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 10 Mar 2026 14:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });

  it('backs off exponentially within the cap, jittered over the upper half', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([0, 1, 2, 3, 4].map((r) => backoffDelayMs(r, policy, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelayMs(2, policy, () => 0)).toBe(200);
  });
});
