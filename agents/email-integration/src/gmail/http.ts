/**
 * HTTP with the waiting rules Google's APIs ask for, on the fleet's retry policy: 429 and 403
 * rate-limit answers are retried after Retry-After (or the policy's backoff when there is none)
 * while the wait is short; a long wait, or a rate limit that outlasts the retries, becomes a
 * RetryLaterError so the runtime delays the job without spending an attempt. 5xx answers and
 * connection resets get a few quick retries, then the last answer is the caller's to report.
 */
import {
  DEFAULT_HTTP_RETRY_POLICY,
  fetchWithRetry,
  type HttpAnswer,
  HttpRequestError,
  type HttpRetryPolicy,
  providerExcerpt,
  retryAfterMs,
  type Transient,
  transientStatus,
} from '@fleet/runtime';

export interface RetryPolicy extends HttpRetryPolicy {
  /** Cap on one request's round trip. */
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_HTTP_RETRY_POLICY,
  retries: 4,
  baseDelayMs: 1_000,
  requestTimeoutMs: 30_000,
};

/** Google's rate-limit reasons on a 403 (a 403 for other reasons is a permission problem). */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
/** Quota reasons that will not clear within minutes. */
const DAILY_QUOTA_REASONS = new Set(['dailyLimitExceeded', 'quotaExceeded']);
const DAILY_QUOTA_WAIT_MS = 60 * 60_000;

export type HttpResult = HttpAnswer;

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

/**
 * Which Google answers are worth waiting for: 429, a 403 whose reason is a rate limit (a daily
 * quota waits an hour unless Google names the time), and 5xx.
 */
function googleTransient(result: HttpResult): Transient | null {
  const { reason } = googleErrorInfo(result.text);
  const label = `${result.status}${reason ? ` ${reason}` : ''}`;
  const daily = reason !== null && DAILY_QUOTA_REASONS.has(reason);
  const rateLimited =
    result.status === 429 || (result.status === 403 && reason !== null && (RATE_LIMIT_REASONS.has(reason) || daily));
  if (rateLimited) {
    const after = retryAfterMs(result.headers) ?? (daily ? DAILY_QUOTA_WAIT_MS : undefined);
    return {
      status: result.status,
      rateLimited: true,
      label: `rate limited by Google (${label})`,
      ...(after === undefined ? {} : { retryAfterMs: after }),
    };
  }
  const transient = transientStatus(result);
  return transient && { ...transient, label: `Google answered ${label}` };
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
  try {
    return await fetchWithRetry(url, init, {
      policy,
      what,
      timeoutMs: policy.requestTimeoutMs,
      classify: googleTransient,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (error instanceof HttpRequestError && error.timedOut) {
      throw new Error(`${what}: request failed: timed out after ${policy.requestTimeoutMs} ms`, { cause: error });
    }
    throw error;
  }
}
