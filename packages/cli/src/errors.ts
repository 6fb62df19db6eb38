import { ExitCode, type ExitCodeValue } from './exit-codes.ts';

/**
 * An error the CLI reports as one line (plus an optional hint naming the fix) and a specific
 * exit code, without a stack trace.
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
    /** How to fix it, printed on its own line. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, ExitCode.usage, hint);

/** Connection failures as node/pg/ioredis report them. */
const UNREACHABLE =
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|Connection is closed|max retries per request|Command timed out|timeout exceeded when trying to connect|Connection terminated|the database system is starting up|password authentication failed|NOAUTH|WRONGPASS/i;

/** Which service an error came from: by the address in its message, else by its kind. */
export function serviceOf(error: unknown, urls: { DATABASE_URL: string; REDIS_URL: string }): 'Postgres' | 'Redis' {
  const message = error instanceof Error ? error.message : String(error);
  const address = (url: string) => {
    try {
      const u = new URL(url);
      return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? '6379' : '5432')}`;
    } catch {
      return '\u0000';
    }
  };
  if (message.includes(address(urls.REDIS_URL))) return 'Redis';
  if (message.includes(address(urls.DATABASE_URL))) return 'Postgres';
  const name = error instanceof Error ? error.name : '';
  return /redis|MaxRetriesPerRequest|NOAUTH|WRONGPASS|Command timed out|Connection is closed/i.test(
    `${name} ${message}`,
  )
    ? 'Redis'
    : 'Postgres';
}

/** explainConnectionError for a command that talks to both services. */
export function explainServiceError(error: unknown, urls: { DATABASE_URL: string; REDIS_URL: string }): unknown {
  const service = serviceOf(error, urls);
  return explainConnectionError(error, service, service === 'Redis' ? urls.REDIS_URL : urls.DATABASE_URL);
}

/**
 * Turns an error from Postgres or Redis into a CliError that says which service and how to fix
 * it; other errors pass through unchanged.
 */
export function explainConnectionError(error: unknown, service: 'Postgres' | 'Redis', url: string): unknown {
  if (error instanceof CliError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | null)?.code ?? '';
  if (!UNREACHABLE.test(message) && !UNREACHABLE.test(code)) return error;
  const variable = service === 'Postgres' ? 'DATABASE_URL' : 'REDIS_URL';
  return new CliError(
    `${service} is unreachable at ${redactUrl(url)}: ${message}`,
    ExitCode.unavailable,
    `Start ${service} or point ${variable} at a running server (process mode defaults to the local one).`,
    { cause: error },
  );
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
