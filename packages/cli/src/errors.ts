import { describeRedisTarget, type RedisTarget } from '@fleet/config';
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
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|Connection is closed|max retries per request|Command timed out|timeout exceeded when trying to connect|Connection terminated|the database system is starting up|password authentication failed|NOAUTH|WRONGPASS/i;

/** Codes of failures to reach or log in to a service (node's network codes, Postgres SQLSTATEs, Redis errors). */
const SERVICE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  '3D000', // database does not exist
  '28P01', // password authentication failed
  '28000', // no such role, or pg_hba.conf refuses the connection
  '57P03', // the database system is starting up
  '53300', // too many connections
  'NOAUTH',
  'WRONGPASS',
]);

/**
 * What identifies a service failure: its code (ECONNREFUSED, ENOTFOUND, 3D000 …), taken from the
 * error, the first of an AggregateError's attempts (a host with several addresses), or its cause.
 */
export function failureCode(error: unknown, depth = 0): string | undefined {
  if (error === null || error === undefined || depth > 4) return undefined;
  const e = error as { code?: unknown; errors?: unknown[]; cause?: unknown; message?: unknown };
  if (typeof e.code === 'string' && e.code) return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return failureCode(e.errors[0], depth + 1);
  const inMessage = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|NOAUTH|WRONGPASS)\b/.exec(
    String(e.message ?? ''),
  );
  return inMessage?.[1] ?? failureCode(e.cause, depth + 1);
}

/** The failure's own words: the message, or its first attempt's for an AggregateError (whose is empty). */
function failureText(error: unknown): string {
  const e = error as { message?: unknown; errors?: unknown[] } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (message || !Array.isArray(e?.errors) || e.errors.length === 0) return message;
  return failureText(e.errors[0]);
}

/** Which service an error came from: by the address in its message, else by its kind. */
export function serviceOf(error: unknown, urls: { DATABASE_URL: string; REDIS: RedisTarget }): 'Postgres' | 'Redis' {
  const message = error instanceof Error ? failureText(error) : String(error);
  const address = (url: string) => {
    try {
      const u = new URL(url);
      return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? '6379' : '5432')}`;
    } catch {
      return '\u0000';
    }
  };
  const redisAddresses =
    typeof urls.REDIS === 'string' ? [address(urls.REDIS)] : urls.REDIS.cluster.map((n) => `${n.host}:${n.port}`);
  if (redisAddresses.some((a) => message.includes(a))) return 'Redis';
  if (message.includes(address(urls.DATABASE_URL))) return 'Postgres';
  const name = error instanceof Error ? error.name : '';
  return /redis|MaxRetriesPerRequest|ClusterAllFailed|CLUSTERDOWN|NOAUTH|WRONGPASS|Command timed out|Connection is closed/i.test(
    `${name} ${message}`,
  )
    ? 'Redis'
    : 'Postgres';
}

/** explainConnectionError for a command that talks to both services. */
export function explainServiceError(error: unknown, urls: { DATABASE_URL: string; REDIS: RedisTarget }): unknown {
  const service = serviceOf(error, urls);
  return explainConnectionError(error, service, service === 'Redis' ? urls.REDIS : urls.DATABASE_URL);
}

/**
 * Turns an error from Postgres or Redis into a CliError (exit 69) that names the service, the
 * cause's code (ECONNREFUSED, ENOTFOUND, 3D000 …) and the variable to fix; other errors pass
 * through unchanged. `connectionError` is the client's last connection error, for clients (ioredis)
 * whose command errors do not say why they could not connect.
 */
export function explainConnectionError(
  error: unknown,
  service: 'Postgres' | 'Redis',
  url: string | RedisTarget,
  connectionError?: unknown,
): unknown {
  if (error instanceof CliError) return error;
  const message = failureText(error);
  const code = failureCode(error) ?? failureCode(connectionError);
  if (!(code && SERVICE_CODES.has(code)) && !UNREACHABLE.test(message)) return error;
  const variable = service === 'Postgres' ? 'DATABASE_URL' : describeRedisTarget(url as RedisTarget).variable;
  const where = typeof url === 'string' ? redactUrl(url) : describeRedisTarget(url).where;
  const cause =
    connectionError && !failureCode(error) && connectionError !== error ? failureText(connectionError) : message;
  const detail = code && !cause.startsWith(code) ? `${code} ${cause}` : cause;
  if (code === '3D000') {
    return new CliError(
      `Postgres at ${where}: ${detail}`,
      ExitCode.unavailable,
      `Create it with \`fleet migrate --create-db\` (or createdb), or point ${variable} at a database that exists.`,
      { cause: error },
    );
  }
  if (code === '28P01' || code === '28000' || code === 'NOAUTH' || code === 'WRONGPASS') {
    return new CliError(
      `${service} refused the login at ${where}: ${detail}`,
      ExitCode.unavailable,
      `Fix the user or password in ${variable}.`,
      { cause: error },
    );
  }
  return new CliError(
    `${service} is unreachable at ${where}: ${detail}`,
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
