/**
 * Where the test services live. CI and the development machines run Postgres and Redis locally and
 * set TEST_DATABASE_URL / TEST_REDIS_URL; without them the global setup starts containers.
 */
export interface TestServices {
  /** Admin connection (a superuser) to the server's maintenance database. */
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

export async function startTestServices(env: NodeJS.ProcessEnv = process.env): Promise<TestServices> {
  if (env.TEST_DATABASE_URL && env.TEST_REDIS_URL) {
    return { databaseUrl: env.TEST_DATABASE_URL, redisUrl: env.TEST_REDIS_URL, stop: async () => {} };
  }
  // Loaded only when needed: a laptop with Docker and no local services.
  try {
    return await startContainers(env);
  } catch (error) {
    throw new Error(
      'Tests need Postgres and Redis. Set TEST_DATABASE_URL and TEST_REDIS_URL (for example ' +
        'postgres://postgres@127.0.0.1:5432/postgres and redis://127.0.0.1:6379), or run Docker so ' +
        `testcontainers can start them. Starting containers failed: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
}

async function startContainers(env: NodeJS.ProcessEnv): Promise<TestServices> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');
  const [pg, redis] = await Promise.all([
    env.TEST_DATABASE_URL ? null : new PostgreSqlContainer('postgres:16-alpine').start(),
    env.TEST_REDIS_URL ? null : new RedisContainer('redis:7-alpine').start(),
  ]);
  return {
    databaseUrl: env.TEST_DATABASE_URL ?? (pg ? pg.getConnectionUri() : ''),
    redisUrl: env.TEST_REDIS_URL ?? (redis ? redis.getConnectionUrl() : ''),
    async stop() {
      await Promise.all([pg?.stop(), redis?.stop()]);
    },
  };
}
