import {
  parseEnv,
  postgresUrl,
  queuePrefix,
  type RedisTarget,
  redisEnv,
  redisRules,
  redisTargetOf,
} from '@fleet/config';
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
  /** REDIS_URL (default LOCAL_REDIS_URL) or REDIS_CLUSTER_NODES and its credentials. */
  ...redisEnv,
  QUEUE_PREFIX: queuePrefix.default('{fleet}'),
};

/** The parsed variables, plus the Redis they name (the local one when none is set). */
export type CliEnv = z.output<z.ZodObject<typeof cliEnvShape>> & { REDIS: RedisTarget };

const roleName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a Postgres role name: lower-case letters, digits and _ (at most 63)');
const rolePassword = z
  .string()
  .min(16, 'must be at least 16 characters, e.g. `openssl rand -hex 24`')
  .regex(/^[A-Za-z0-9._~-]+$/, 'may contain only letters, digits and - . _ ~ (it is part of a connection URL)');

/**
 * Variables `fleet migrate` reads: the owner's DATABASE_URL, and the login roles it creates for
 * the agents and the control plane (only those whose password is set). Roles are cluster-wide:
 * fleets sharing one Postgres server need different role names.
 */
export const migrateEnvShape = {
  DATABASE_URL: cliEnvShape.DATABASE_URL,
  AGENT_DATABASE_USER: roleName.default('fleet_agent_login'),
  AGENT_DATABASE_PASSWORD: rolePassword.optional(),
  CONTROL_PLANE_DATABASE_USER: roleName.default('fleet_control_plane_login'),
  CONTROL_PLANE_DATABASE_PASSWORD: rolePassword.optional(),
};

export type MigrateEnv = z.output<z.ZodObject<typeof migrateEnvShape>>;

/** Parses `fleet migrate`'s variables; throws ConfigError naming every bad one. */
export function parseMigrateEnv(env: NodeJS.ProcessEnv): MigrateEnv {
  return parseEnv('fleet migrate', z.object(migrateEnvShape), env);
}

/** Parses the CLI's variables; throws ConfigError naming every bad one. */
export function parseCliEnv(env: NodeJS.ProcessEnv): CliEnv {
  const parsed = parseEnv('fleet', redisRules(z.object(cliEnvShape), { urlOptional: true }), env);
  return { ...parsed, REDIS: redisTargetOf(parsed, LOCAL_REDIS_URL) };
}
