/**
 * The fleet's one retry policy for calls to outside services. A transient failure (a connection
 * reset, 408, 429, 5xx, or whatever the caller's `transient` says) is tried again in-process after
 * the server's Retry-After (delta-seconds, HTTP date, or the non-standard retry-after-ms) or, when
 * it names none, a capped exponential backoff with jitter. A wait longer than `maxInlineWaitMs` is
 * never slept: it becomes a RetryLaterError, so the runtime delays the job without spending an
 * attempt and the handler does not sit on its job lock and concurrency slot. A rate limit that
 * outlasts the retries is handed over the same way; any other failure that outlasts them is the
 * caller's to report.
 *
 * p-retry runs the loop (attempt counting, the AbortSignal, network errors told apart from
 * programming errors); the waits are decided here, because p-retry knows nothing of Retry-After.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { RetryLaterError } from './errors.ts';

export interface HttpRetryPolicy {
  /** Tries after the first; 0 disables retrying in-process. */
  retries: number;
  /** First backoff when the server names no wait; doubles per retry. */
  baseDelayMs: number;
  /** Cap on one computed backoff. */
  maxDelayMs: number;
  /** Longest wait slept inside the job; a longer one is handed to the runtime as RetryLaterError. */
  maxInlineWaitMs: number;
}

export const DEFAULT_HTTP_RETRY_POLICY: Readonly<HttpRetryPolicy> = {
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxInlineWaitMs: 5_000,
};

/**
 * The wait before retry number `retry` (0-based): exponential from `baseDelayMs`, capped at
 * `maxDelayMs`, spread over the upper half of the window so that callers failing together do not
 * come back together. `random = () => 1` gives the plain window.
 */
export function backoffDelayMs(
  retry: number,
  policy: Pick<HttpRetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry));
  return Math.round(window / 2 + (random() * window) / 2);
}

/** Retry-After (delta-seconds or an HTTP date) or retry-after-ms, in ms; undefined when absent or unreadable. */
export function retryAfterMs(
  headers: { get(name: string): string | null } | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const after = headers.get('retry-after')?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.round(Number(after) * 1000);
  const at = Date.parse(after);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What a failed try says about trying again. */
export interface Transient {
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** The wait the server asked for, when it named one. */
  retryAfterMs?: number;
  /** A rate limit: when the retries run out, the job waits (RetryLaterError) instead of failing. */
  rateLimited?: boolean;
  /** Names the failure in messages (e.g. `HTTP 429`); no secrets. */
  label?: string;
}

export interface RetryInfo {
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  status: number | undefined;
}

export interface RetryOptions {
  policy: HttpRetryPolicy;
  /** Names the call in messages; no secrets. */
  what: string;
  signal?: AbortSignal;
  /** Whether a thrown error is worth another try, and what the server said; null: final, rethrown. */
  transient: (error: unknown) => Transient | null;
  /** Called before each in-process wait (for logs). */
  onRetry?: (info: RetryInfo) => void;
  random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or must wait longer than the policy allows.
 * An abort of `signal` ends any wait at once and rejects with the signal's reason.
 */
export async function withRetry<T>(attempt: (tryNumber: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  return pRetry(attempt, {
    retries: policy.retries,
    // p-retry's own wait is zero: the wait is taken in onFailedAttempt, where Retry-After is known.
    minTimeout: 0,
    factor: 1,
    ...(signal ? { signal } : {}),
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (signal?.aborted) throw signal.reason;
      const transient = options.transient(error);
      if (!transient) throw error;
      const delayMs = transient.retryAfterMs ?? backoffDelayMs(attemptNumber - 1, policy, options.random);
      const exhausted = retriesLeft <= 0;
      if (delayMs > policy.maxInlineWaitMs || (exhausted && transient.rateLimited)) {
        const label = transient.label ?? (transient.status ? `HTTP ${transient.status}` : error.message);
        throw new RetryLaterError(`${options.what}: ${label}; retrying in ${formatWait(delayMs)}`, delayMs, {
          cause: error,
        });
      }
      if (exhausted) throw error;
      options.onRetry?.({ retry: attemptNumber, delayMs, status: transient.status });
      try {
        await sleep(delayMs, undefined, signal ? { signal } : undefined);
      } catch (sleepError) {
        // The job's own abort reason (a cancel or shutdown), not a generic AbortError.
        throw signal?.aborted ? signal.reason : sleepError;
      }
    },
  });
}

function formatWait(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Math.ceil(ms / 1_000)} s`;
}

/** An HTTP answer, its body read. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** A transient answer, thrown between tries; after a RetryLaterError it is the `cause`. */
export class TransientAnswerError extends Error {
  override name = 'TransientAnswerError';
  constructor(
    readonly answer: HttpAnswer,
    readonly transient: Transient,
  ) {
    super(transient.label ?? `HTTP ${answer.status}`);
  }
}

/** No answer: the request timed out, or the connection failed on every try. */
export class HttpRequestError extends Error {
  override name = 'HttpRequestError';
  constructor(
    message: string,
    /** The per-try time limit ran out (not retried: a slow server stays slow). */
    readonly timedOut: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504, 529]);

/** 408, 429 and 5xx are worth another try; 429 is a rate limit. Retry-After is honoured on each. */
export function transientStatus(answer: Pick<HttpAnswer, 'status' | 'headers'>): Transient | null {
  if (!TRANSIENT_STATUSES.has(answer.status)) return null;
  const after = retryAfterMs(answer.headers);
  return {
    status: answer.status,
    rateLimited: answer.status === 429,
    ...(after === undefined ? {} : { retryAfterMs: after }),
  };
}

export interface FetchRetryOptions extends Omit<RetryOptions, 'transient'> {
  /** Time allowed for one try, body included. */
  timeoutMs: number;
  /** Which answers are transient; `transientStatus` by default. */
  classify?: (answer: HttpAnswer) => Transient | null;
  /** Injected for tests or proxies; global fetch by default. */
  fetch?: typeof fetch;
}

/**
 * `fetch` under the policy. Resolves with the final answer — a success, an answer that is not
 * transient, or a transient one that outlasted the retries (not a rate limit) — for the caller to
 * interpret. Rejects with RetryLaterError for a wait too long to take here, HttpRequestError when
 * no answer came, and the signal's reason when the job is aborted.
 */
export async function fetchWithRetry(url: string, init: RequestInit, options: FetchRetryOptions): Promise<HttpAnswer> {
  const { signal, timeoutMs } = options;
  const doFetch = options.fetch ?? fetch;
  const classify = options.classify ?? transientStatus;
  try {
    return await withRetry(
      async () => {
        const timeout = AbortSignal.timeout(timeoutMs);
        let answer: HttpAnswer;
        try {
          const response = await doFetch(url, {
            ...init,
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          });
          answer = { status: response.status, headers: response.headers, text: await response.text() };
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          if (timeout.aborted) {
            throw new HttpRequestError(`${options.what}: timed out after ${timeoutMs} ms`, true, { cause: error });
          }
          const cause = error instanceof Error ? error : new Error(String(error));
          throw new HttpRequestError(`${options.what}: request failed: ${describeCause(cause)}`, false, { cause });
        }
        const transient = answer.status >= 400 ? classify(answer) : null;
        if (transient) throw new TransientAnswerError(answer, transient);
        return answer;
      },
      {
        ...options,
        transient: (error) => {
          if (error instanceof TransientAnswerError) return error.transient;
          if (error instanceof HttpRequestError && !error.timedOut) return { label: error.message };
          return null;
        },
      },
    );
  } catch (error) {
    if (error instanceof TransientAnswerError) return error.answer;
    throw error;
  }
}

/** undici says `fetch failed` and keeps the reason (ECONNRESET, ECONNREFUSED) in its cause. */
function describeCause(error: Error): string {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  const message = typeof cause?.message === 'string' ? cause.message : null;
  if (code && message && !message.includes(code)) return `${error.message} (${code}: ${message})`;
  if (message) return `${error.message} (${message})`;
  return error.message;
}
