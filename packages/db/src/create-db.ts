import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './types.ts';

/** Options for {@link createDb}. Everything but the URL has a production default. */
export interface CreateDbOptions {
  /** Pool size; the audit writer needs one or two connections, handlers the rest. */
  max?: number;
  /** Shown in pg_stat_activity, so an operator can tell agents apart. */
  applicationName?: string;
  /** Fail a connection attempt after this long instead of hanging (Postgres down, half-open path). */
  connectionTimeoutMillis?: number;
  /** Server-side cap on one statement, so a stuck query cannot hold a job forever. */
  statementTimeoutMillis?: number;
  /** Client-side cap on one query round trip; catches a half-open TCP path the server never sees. */
  queryTimeoutMillis?: number;
}

const PG_INT8 = 20;
const PG_DATE = 1082;

/**
 * Type parsers, set per pool rather than on pg's global registry:
 * int8 becomes a number (counts and ids here stay far below 2^53), date stays 'YYYY-MM-DD' text so
 * no time zone can move a day, numeric stays a string (exact money).
 */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === PG_INT8) return (value: string) => Number(value);
    if (oid === PG_DATE) return (value: string) => value;
    // biome-ignore lint/suspicious/noExplicitAny: pg's own signature is overloaded by format
    return pg.types.getTypeParser(oid, format as any);
  },
} as pg.CustomTypesConfig;

/** Creates a pg pool for `url`; the caller owns it and must `end()` it. */
export function createPool(url: string, options: CreateDbOptions = {}): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'agent-fleet',
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.statementTimeoutMillis ? { statement_timeout: options.statementTimeoutMillis } : {}),
    ...(options.queryTimeoutMillis ? { query_timeout: options.queryTimeoutMillis } : {}),
    types: typeParsers,
  });
}

const pools = new WeakMap<Kysely<Database>, pg.Pool>();

/**
 * The pg pool under a Kysely made by {@link createDb} (undefined for any other Kysely, and for a
 * transaction): for the few statements Kysely cannot send, such as named prepared statements.
 */
export function poolOf(db: Kysely<Database>): pg.Pool | undefined {
  return pools.get(db);
}

/** A typed Kysely instance over its own pool. `await db.destroy()` closes the pool. */
export function createDb(url: string, options: CreateDbOptions = {}): Kysely<Database> {
  const pool = createPool(url, options);
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout simply opens a new connection.
  pool.on('error', () => {});
  // A connection cut while checked out (server restart, pg_terminate_backend) also emits 'error'
  // on the client itself, where nobody listens; the query in flight already gets the error.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (options.queryTimeoutMillis) dropConnectionOnQueryTimeout(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  // Kysely ends the pool only if it ran a query itself; statements sent straight to the pool
  // (poolOf) would otherwise keep its connections, and the process, alive after destroy().
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    await destroy();
    if (!pool.ended) await pool.end();
  };
  return db;
}

/**
 * pg's query_timeout fails the query but keeps the connection, whose socket may be half-open (a
 * silent network path): every later query on it would time out too, for as long as the kernel
 * takes to give up (minutes). Destroy such a connection so the pool opens a fresh one.
 */
function dropConnectionOnQueryTimeout(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) {
      result.catch((error: Error) => {
        if (error?.message === 'Query read timeout') {
          (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        }
      });
    }
    return result;
  };
}
