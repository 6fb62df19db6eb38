/**
 * HTTP with the waiting rules Google's APIs ask for: 429 and 403 rate-limit answers are retried
 * after Retry-After (or an exponential backoff when there is none) while the wait is short; a
 * long wait becomes a RetryLaterError so the runtime delays the job without spending an attempt.
 * 5xx answers get a few quick retries, then fail as an ordinary (retryable) error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { providerExcerpt, RetryLaterError } from '@fleet/runtime';

export interface RetryPolicy {
  /** Longest wait taken inside the job; longer ones are handed to the runtime. */
  maxInlineWaitMs: number;
  /** Attempts of one request before giving up (rate limits and 5xx together). */
  maxAttempts: number;
  /** First backoff when the server names no Retry-After; doubles per attempt. */
  backoffBaseMs: number;
  /** Cap on one request's round trip. */
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxInlineWaitMs: 30_000,
  maxAttempts: 5,
  backoffBaseMs: 1_000,
  requestTimeoutMs: 30_000,
};

/** Google's rate-limit reasons on a 403 (a 403 for other reasons is a permission problem). */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
/** Quota reasons that will not clear within minutes. */
const DAILY_QUOTA_REASONS = new Set(['dailyLimitExceeded', 'quotaExceeded']);
const DAILY_QUOTA_WAIT_MS = 60 * 60_000;

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
}

/** A non-success answer from a Google API, with Google's error reason when it gave one. */
export class GoogleApiError extends Error {
  override name = 'GoogleApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | null,
  ) {
    super(message);
  }
}

/**
 * Parses Google's JSON error body: `{ error: { code, message, errors: [{ reason }], status } }`.
 * Both parts end up in error messages, so they are cut short and stripped of anything
 * credential-shaped: a provider may echo the request (and with it the refresh token) back.
 */
export function googleErrorInfo(
  text: string,
  /** The credentials the request carried; never repeated, whatever the answer quotes. */
  sent: ReadonlyArray<string | undefined> = [],
): { reason: string | null; message: string | null } {
  try {
    const body = JSON.parse(text) as {
      error?: { message?: unknown; errors?: Array<{ reason?: unknown }>; status?: unknown } | string;
      error_description?: unknown;
    };
    if (typeof body.error === 'string') {
      // OAuth token endpoint shape: { error: 'invalid_grant', error_description: '...' }
      return { reason: reasonCode(body.error), message: providerText(body.error_description, sent) };
    }
    return {
      reason: reasonCode(body.error?.errors?.[0]?.reason) ?? reasonCode(body.error?.status),
      message: providerText(body.error?.message, sent),
    };
  } catch {
    return { reason: null, message: null };
  }
}

/** Google's reasons are identifiers (`invalid_grant`, `rateLimitExceeded`); anything else is not one. */
function reasonCode(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : null;
}

function providerText(value: unknown, sent: ReadonlyArray<string | undefined>): string | null {
  return typeof value === 'string' && value.trim() !== '' ? providerExcerpt(value, { max: 200, sent }) : null;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function isRateLimited(result: HttpResult, reason: string | null): boolean {
  if (result.status === 429) return true;
  return (
    result.status === 403 && reason !== null && (RATE_LIMIT_REASONS.has(reason) || DAILY_QUOTA_REASONS.has(reason))
  );
}

/**
 * Sends a request, waiting out rate limits and transient 5xx answers as the policy allows, and
 * returns the final answer (success or not) for the caller to interpret. `what` names the call
 * in error messages; it must not contain secrets.
 */
export async function requestWithRetry(
  what: string,
  url: string,
  init: RequestInit,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<HttpResult> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(policy.requestTimeoutMs);
    let result: HttpResult;
    try {
      const response = await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      result = { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const cause = error instanceof Error ? error : new Error(String(error));
      const detail = timeout.aborted ? `timed out after ${policy.requestTimeoutMs} ms` : cause.message;
      throw new Error(`${what}: request failed: ${detail}`, { cause });
    }
    if (result.status < 400) return result;

    const { reason } = googleErrorInfo(result.text);
    const rateLimited = isRateLimited(result, reason);
    if (!rateLimited && result.status < 500) return result;

    const retryAfter = parseRetryAfter(result.headers.get('retry-after'));
    const daily = reason !== null && DAILY_QUOTA_REASONS.has(reason);
    const delay = retryAfter ?? (daily ? DAILY_QUOTA_WAIT_MS : policy.backoffBaseMs * 2 ** (attempt - 1));
    const label = `${result.status}${reason ? ` ${reason}` : ''}`;
    if (attempt >= policy.maxAttempts || delay > policy.maxInlineWaitMs) {
      if (rateLimited) {
        throw new RetryLaterError(`${what}: rate limited by Google (${label}); retrying in ${delay} ms`, delay);
      }
      throw new GoogleApiError(`${what}: Google answered ${label} ${attempt} times`, result.status, reason);
    }
    try {
      await sleep(delay, undefined, signal ? { signal } : undefined);
    } catch (error) {
      // Surface the job's own abort reason (cancel vs shutdown), not a generic AbortError.
      throw signal?.aborted ? signal.reason : error;
    }
  }
}
