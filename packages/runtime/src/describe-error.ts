/**
 * An error as one line: its message, then what caused it. Node's fetch fails with "fetch failed"
 * and keeps the reason (ECONNREFUSED, ENOTFOUND, a TLS error) in `cause`; drivers wrap errors the
 * same way. Without the causes an operator reads "fetch failed" and cannot tell a typo in a URL
 * from a server that is down.
 */
export function describeError(error: unknown): string {
  const head = error instanceof Error ? error.message || error.name : String(error);
  const parts: string[] = [];
  let cause = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 4; depth++) {
    // AggregateError (a connection tried on several addresses): the first attempt says enough.
    const inner = cause instanceof AggregateError && cause.errors.length > 0 ? cause.errors[0] : cause;
    const code = (inner as { code?: unknown }).code;
    const message = inner instanceof Error ? inner.message : typeof inner === 'string' ? inner : '';
    const text = message
      ? typeof code === 'string' && !message.includes(code)
        ? `${code}: ${message}`
        : message
      : typeof code === 'string'
        ? code
        : '';
    const seen = `${head} ${parts.join(' ')}`;
    if (text && !seen.includes(text)) parts.push(text);
    cause = (inner as { cause?: unknown }).cause;
  }
  return parts.length > 0 ? `${head} (${parts.join('; ')})` : head;
}
