import { parseEnv, postgresUrl, queuePrefix, redisUrl } from '@fleet/config';
import { z } from 'zod';

/**
 * Local services, the defaults of process mode and of the CLI on a development machine. In
 * containers DATABASE_URL and REDIS_URL are always set (docker-compose.agents.yml).
 */
export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/fleet';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** Variables the `fleet` command reads. */
export const cliEnvShape = {
  DATABASE_URL: postgresUrl.default(LOCAL_DATABASE_URL),
  REDIS_URL: redisUrl.default(LOCAL_REDIS_URL),
  QUEUE_PREFIX: queuePrefix.default('{fleet}'),
};

export type CliEnv = z.output<z.ZodObject<typeof cliEnvShape>>;

/** Parses the CLI's variables; throws ConfigError naming every bad one. */
export function parseCliEnv(env: NodeJS.ProcessEnv): CliEnv {
  return parseEnv('fleet', z.object(cliEnvShape), env);
}
