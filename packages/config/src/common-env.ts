import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { redisEnv } from './redis.ts';
import { booleanFlag, logLevel, postgresUrl, queuePrefix } from './schemas.ts';

/**
 * Variables every fleet process reads. Spread into a service's own z.object(), then wrap that in
 * redisRules() (one of REDIS_URL and REDIS_CLUSTER_NODES).
 */
export const commonEnv = {
  DATABASE_URL: postgresUrl,
  ...redisEnv,
  QUEUE_PREFIX: queuePrefix.default('{fleet}'),
  LOG_LEVEL: logLevel.default('info'),
  /** pretty-print logs (default: when stdout is a terminal) */
  LOG_PRETTY: booleanFlag.optional(),
  /**
   * This process's identity: answered by its /healthz probe and recorded as the BullMQ worker
   * name (a job's `processedBy`). Process mode sets a new one for every start; the default is
   * host, pid and a random suffix (containers all run as pid 1).
   */
  FLEET_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:#@-]{1,120}$/, 'may contain only letters, digits and . _ : # @ - (at most 120)')
    .default(() => `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`),
};
