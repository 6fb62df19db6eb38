/**
 * The audit row could not be made durable (database unreachable, timeout, ...). Retryable: the
 * caller must not acknowledge the job; BullMQ will run the attempt again later.
 */
export class AuditWriteError extends Error {
  override name = 'AuditWriteError';
}

/** Postgres SQLSTATE of an error, when it came from the server. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Data errors (class 22) and integrity violations (class 23) are about rows, not the connection. */
export function isRowError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}
