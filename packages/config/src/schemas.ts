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
 * A BullMQ key prefix. Wrapped in braces (a Redis Cluster hash tag) when it is not already. On one
 * server every queue uses it as it is (`{fleet}:email_integration_queue:wait`); on a cluster each
 * queue gets a hash tag of its own made from it (`{fleet:email_integration_queue}:...`, see
 * queueKeyPrefix in @fleet/queues), so the queues spread over the cluster's shards.
 */
export const queuePrefix = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[A-Za-z0-9_:{}-]+$/, 'may contain only letters, digits, _ - : { }')
  .transform((v) => (v.startsWith('{') && v.endsWith('}') ? v : `{${v}}`));
