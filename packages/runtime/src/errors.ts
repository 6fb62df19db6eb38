/**
 * Errors a handler throws to steer the runtime. Anything else thrown is a retryable failure.
 */

/** A failure that retrying cannot fix (bad input, missing record): recorded failed, not retried. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/**
 * The work must wait (a provider's rate limit, Retry-After): the attempt is recorded as failed
 * with the reason, and the job is delayed by `delayMs` without spending one of its attempts.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    message: string,
    readonly delayMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
