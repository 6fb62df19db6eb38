/**
 * One API call to a platform, through safe-fetch (the base URL is judged like any URL from a row),
 * with a time limit and the platforms' rate-limit answers turned into RetryLaterError. Nothing is
 * retried inline: a POST that timed out may have worked, and only the publisher knows how to
 * find out (publish-post.ts).
 */
import { PermanentError, providerExcerpt, RetryLaterError, retryAfterMs } from '@fleet/runtime';
import { RefusedUrlError, type SafeFetch, type SafeFetchInit } from '@fleet/safe-fetch';

export interface HttpDeps {
  http: SafeFetch;
  timeoutMs: number;
  /** Clock for reset headers given as instants; tests pass a fixed one. */
  now?: () => number;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** The wait when a 429 names none. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * The wait a rate-limit answer asks for: Retry-After (seconds or an HTTP date), Mastodon's
 * X-RateLimit-Reset (an ISO 8601 instant), or X's x-rate-limit-reset (Unix seconds).
 */
export function rateLimitWaitMs(headers: Headers, now = Date.now()): number {
  const retryAfter = retryAfterMs(headers, now);
  if (retryAfter !== undefined) return retryAfter;
  // The platforms' own reset headers, which the HTTP retry policy does not know.
  const reset = (headers.get('x-ratelimit-reset') ?? headers.get('x-rate-limit-reset'))?.trim();
  if (reset) {
    const at = /^\d+$/.test(reset) ? Number(reset) * 1000 : Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return DEFAULT_RATE_LIMIT_WAIT_MS;
}

/** A short, credential-free excerpt of what a platform answered, for error messages. */
export function answerExcerpt(answer: ApiAnswer, token: string): string {
  let message = answer.text;
  try {
    const body = JSON.parse(answer.text) as { error?: unknown; detail?: unknown; title?: unknown; errors?: unknown };
    const first = [body.error, body.detail, body.title].find((v) => typeof v === 'string');
    if (first) message = first as string;
  } catch {
    // not JSON: the raw text, cut short
  }
  return providerExcerpt(message, { max: 200, sent: [token] });
}

/**
 * Sends the request with the account's bearer token. Returns any answer below 500 other than 429
 * for the caller to interpret; a 429 is a RetryLaterError, a 5xx or a failed or timed-out request
 * an ordinary error (retry).
 */
export async function apiCall(
  deps: HttpDeps,
  what: string,
  url: string,
  token: string,
  init: Omit<SafeFetchInit, 'signal'>,
  signal: AbortSignal,
): Promise<ApiAnswer> {
  signal.throwIfAborted();
  const timeout = AbortSignal.timeout(deps.timeoutMs);
  let answer: ApiAnswer;
  try {
    const res = await deps.http.fetch(url, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.any([signal, timeout]),
    });
    answer = { status: res.status, headers: res.headers as unknown as Headers, text: await res.text() };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    // The account's base URL is not one the fleet may reach: a setting to fix, not to retry.
    if (error instanceof RefusedUrlError) throw new PermanentError(`${what}: ${error.message}`);
    const detail = timeout.aborted ? `timed out after ${deps.timeoutMs} ms` : (error as Error).message;
    throw new Error(`${what}: request failed: ${providerExcerpt(detail, { sent: [token] })}`, { cause: error });
  }
  if (answer.status === 429) {
    const wait = rateLimitWaitMs(answer.headers, deps.now?.() ?? Date.now());
    throw new RetryLaterError(`${what}: rate limited (429); retrying in ${Math.ceil(wait / 1000)} s`, wait);
  }
  if (answer.status >= 500) {
    throw new Error(`${what}: the platform answered ${answer.status}: ${answerExcerpt(answer, token)}`);
  }
  return answer;
}

/** Parses a JSON answer, naming the call when it is not JSON. */
export function json<T>(what: string, answer: ApiAnswer): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new Error(`${what}: the platform answered ${answer.status} with a body that is not JSON`);
  }
}
