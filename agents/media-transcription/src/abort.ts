/**
 * The error to throw once a job's signal has aborted. The runtime aborts with a reason string
 * (an operator's cancel, or shutdown); a thrown string loses its stack, so it is wrapped.
 */
export function abortError(signal: AbortSignal, cause?: unknown): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const text = typeof reason === 'string' && reason ? reason : 'aborted';
  const err = new Error(`transcription aborted: ${text}`, cause === undefined ? undefined : { cause });
  err.name = 'AbortError';
  return err;
}

/** throwIfAborted() with abortError()'s error. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}
