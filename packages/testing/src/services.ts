/**
 * Where the test services live, so that `npm ci && npm test` works on a fresh machine as written:
 *  1. TEST_DATABASE_URL / TEST_REDIS_URL when set (CI and these machines);
 *  2. else Postgres and Redis on their default local ports, when they answer;
 *  3. else containers started with testcontainers, when a container engine answers;
 *  4. else one line saying what to start or set (TestServicesUnavailable).
 * Each service is looked up on its own: a local Redis and a container Postgres work together.
 */
import pg from 'pg';

export interface TestServices {
  /** Admin connection (a superuser) to the server's maintenance database. */
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/** Where a laptop's own Postgres and Redis usually listen. */
export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** Nothing to run the tests against; the message is the one line to print. */
export class TestServicesUnavailable extends Error {
  override name = 'TestServicesUnavailable';
}

export interface ServiceProbes {
  /** Why this Postgres cannot serve the tests (not a superuser, unreachable), or null when it can. */
  postgres(url: string): Promise<string | null>;
  /** Why this Redis cannot serve the tests, or null when it can. */
  redis(url: string): Promise<string | null>;
  /** Why no container engine can start containers, or null when one answers. */
  containerEngine(): Promise<string | null>;
}

const codeOf = (error: unknown) => {
  const e = error as { code?: string; errors?: { code?: string }[]; message?: string };
  return e?.code ?? e?.errors?.[0]?.code ?? e?.message ?? String(error);
};

async function probePostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    // The harness creates databases and roles: it needs a superuser.
    return rows[0]?.rolsuper ? null : 'answers, but not as a superuser';
  } catch (error) {
    return codeOf(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeRedis(url: string): Promise<string | null> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis says why it could not connect in 'error' events; connect() only says it gave up.
  let cause: unknown;
  client.on('error', (error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? null : 'did not answer PING';
  } catch (error) {
    return codeOf(cause ?? error);
  } finally {
    client.disconnect();
  }
}

async function probeContainerEngine(): Promise<string | null> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

export const defaultProbes: ServiceProbes = {
  postgres: probePostgres,
  redis: probeRedis,
  containerEngine: probeContainerEngine,
};

export async function startTestServices(
  env: NodeJS.ProcessEnv = process.env,
  probes: ServiceProbes = defaultProbes,
  local = { databaseUrl: LOCAL_DATABASE_URL, redisUrl: LOCAL_REDIS_URL },
): Promise<TestServices> {
  const [pgProblem, redisProblem] = await Promise.all([
    env.TEST_DATABASE_URL ? null : probes.postgres(local.databaseUrl),
    env.TEST_REDIS_URL ? null : probes.redis(local.redisUrl),
  ]);
  const databaseUrl = env.TEST_DATABASE_URL ?? (pgProblem === null ? local.databaseUrl : undefined);
  const redisUrl = env.TEST_REDIS_URL ?? (redisProblem === null ? local.redisUrl : undefined);
  if (databaseUrl && redisUrl) return { databaseUrl, redisUrl, stop: async () => {} };

  const engineProblem = await probes.containerEngine();
  if (engineProblem !== null) {
    const missing = [
      databaseUrl ? null : `Postgres 15+ (${hostPort(local.databaseUrl)}: ${pgProblem})`,
      redisUrl ? null : `Redis 7 (${hostPort(local.redisUrl)}: ${redisProblem})`,
    ].filter(Boolean);
    throw new TestServicesUnavailable(
      `The tests need ${missing.join(' and ')}, and no container engine answers for testcontainers ` +
        `(${engineProblem}): start them on their default ports (Postgres user postgres, no password), ` +
        'set TEST_DATABASE_URL and TEST_REDIS_URL, or start Docker or Podman.',
    );
  }
  return startContainers(databaseUrl, redisUrl);
}

function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

async function startContainers(databaseUrl: string | undefined, redisUrl: string | undefined): Promise<TestServices> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');
  const [pgContainer, redisContainer] = await Promise.all([
    databaseUrl ? null : new PostgreSqlContainer('postgres:16-alpine').start(),
    redisUrl ? null : new RedisContainer('redis:7-alpine').start(),
  ]);
  return {
    databaseUrl: databaseUrl ?? pgContainer!.getConnectionUri(),
    redisUrl: redisUrl ?? redisContainer!.getConnectionUrl(),
    async stop() {
      await Promise.all([pgContainer?.stop(), redisContainer?.stop()]);
    },
  };
}
