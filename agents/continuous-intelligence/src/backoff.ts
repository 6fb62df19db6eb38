/** Bounded exponential backoff with full jitter, and a sleep that an AbortSignal cuts short. */

export interface BackoffPolicy {
  /** Retries after the first try; 0 disables retrying. */
  maxRetries: number;
  /** First delay; doubles on each retry. */
  baseDelayMs: number;
  /** No single wait is longer than this, whatever the server's Retry-After says. */
  maxDelayMs: number;
}

/**
 * The wait before retry number `retry` (0-based). A server-sent delay wins when present (it knows
 * its own load) but is capped; otherwise full jitter over the exponential window.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  retry: number,
  serverDelayMs?: number,
  random = Math.random,
): number {
  if (serverDelayMs !== undefined && Number.isFinite(serverDelayMs) && serverDelayMs >= 0) {
    return Math.min(serverDelayMs, policy.maxDelayMs);
  }
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(window / 2 + (random() * window) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads Retry-After (seconds or HTTP date) and the non-standard retry-after-ms. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(after);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
