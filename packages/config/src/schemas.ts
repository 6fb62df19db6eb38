import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

/** Building blocks for service env schemas; each error message names what is expected. */

export const postgresUrl = z
  .string({ error: 'must be a postgres:// connection URL' })
  .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must start with postgres:// or postgresql://' })
  .refine((v) => URL.canParse(v), { message: 'is not a valid URL' });

export const redisUrl = z
  .string({ error: 'must be a redis:// connection URL' })
  .refine((v) => /^rediss?:\/\//.test(v), { message: 'must start with redis:// or rediss://' })
  .refine((v) => URL.canParse(v), { message: 'is not a valid URL' });

export const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

export const positiveInt = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .positive('must be positive');
export const nonNegativeNumber = z.coerce.number({ error: 'must be a number' }).nonnegative('must be zero or more');

/** 'true'/'1'/'yes' and 'false'/'0'/'no', case-insensitive; anything else is an error. */
export const booleanFlag = z.string().transform((v, ctx) => {
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off', ''].includes(s)) return false;
  ctx.addIssue({ code: 'custom', message: 'must be true or false' });
  return z.NEVER;
});

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: 'must be one of fatal, error, warn, info, debug, trace, silent',
});

/**
 * A BullMQ key prefix. Wrapped in braces (a Redis Cluster hash tag) when it is not already, so
 * every key of every queue lands in one slot and BullMQ's multi-key scripts work on a cluster.
 */
export const queuePrefix = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[A-Za-z0-9_:{}-]+$/, 'may contain only letters, digits, _ - : { }')
  .transform((v) => (v.startsWith('{') && v.endsWith('}') ? v : `{${v}}`));

/** Variables every fleet process reads. Spread into a service's own z.object(). */
export const commonEnv = {
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
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
