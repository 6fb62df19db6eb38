import { createDb, type Database } from '@fleet/db';
import { createProducer, createRedis, type Producer, type RedisClient } from '@fleet/queues';
import { type Kysely, sql } from 'kysely';
import { type CliEnv, parseCliEnv } from './cli-env.ts';
import { explainConnectionError } from './errors.ts';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input (for `--data @-`). */
  readStdin(): Promise<string>;
  /** True when stdout is a terminal (colours, pretty logs). */
  isTTY: boolean;
}

/**
 * What a command needs, opened on first use and closed once when the command ends, so
 * `fleet enqueue` never connects to anything before its payload is known to be valid.
 */
export interface CliContext {
  io: CliIO;
  /** The raw environment (process mode passes it on to the agents). */
  rawEnv: NodeJS.ProcessEnv;
  env(): CliEnv;
  db(): Kysely<Database>;
  redis(): RedisClient;
  producer(options?: { audit?: boolean }): Producer;
  /**
   * Fails fast (exit 69, naming REDIS_URL) when Redis does not answer. BullMQ itself waits for
   * a connection indefinitely, which suits workers but would leave a command hanging.
   */
  ensureRedis(timeoutMs?: number): Promise<void>;
  /** Fails fast (exit 69, naming DATABASE_URL and the cause) when Postgres does not answer. */
  ensurePostgres(): Promise<void>;
  close(): Promise<void>;
}

export function createContext(io: CliIO, rawEnv: NodeJS.ProcessEnv): CliContext {
  let env: CliEnv | undefined;
  let db: Kysely<Database> | undefined;
  let redis: RedisClient | undefined;
  // ioredis reports why it cannot connect on 'error' events only; its commands just give up.
  let lastRedisError: unknown;
  const producers: Producer[] = [];
  const ctx: CliContext = {
    io,
    rawEnv,
    env: () => {
      env ??= parseCliEnv(rawEnv);
      return env;
    },
    db: () => {
      db ??= createDb(ctx.env().DATABASE_URL, { max: 2, applicationName: 'fleet-cli', connectionTimeoutMillis: 5_000 });
      return db;
    },
    redis: () => {
      if (!redis) {
        redis = createRedis(ctx.env().REDIS, 'producer');
        redis.on('error', (error) => {
          lastRedisError = error;
        });
      }
      return redis;
    },
    producer: (options = {}) => {
      const { REDIS, QUEUE_PREFIX } = ctx.env();
      const producer = createProducer({
        redis: REDIS,
        prefix: QUEUE_PREFIX,
        ...(options.audit === false ? {} : { db: ctx.db() }),
      });
      producers.push(producer);
      return producer;
    },
    async ensureRedis(timeoutMs = 5_000) {
      const url = ctx.env().REDIS;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          ctx.redis().ping(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (error) {
        const explained = explainConnectionError(error, 'Redis', url, lastRedisError);
        throw explained === error
          ? explainConnectionError(new Error(`ETIMEDOUT: ${(error as Error).message}`), 'Redis', url, lastRedisError)
          : explained;
      } finally {
        clearTimeout(timer);
      }
    },
    async ensurePostgres() {
      try {
        await sql`SELECT 1`.execute(ctx.db());
      } catch (error) {
        throw explainConnectionError(error, 'Postgres', ctx.env().DATABASE_URL);
      }
    },
    async close() {
      await Promise.allSettled(producers.map((p) => p.close()));
      redis?.disconnect();
      await db?.destroy().catch(() => {});
    },
  };
  return ctx;
}
