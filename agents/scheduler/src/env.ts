import { positiveInt, queuePrefix, redisEnv } from '@fleet/config';
import { z } from 'zod';
import { buildSchedules, cronEnvName, SCHEDULE_NAMES, type Schedule, type ScheduleName } from './schedules.ts';

const overrideSchema = z.strictObject({
  cron: z.string().min(1).optional(),
  every_ms: z.number().int().min(100, 'must be at least 100 ms').optional(),
  tz: z.string().min(1).optional(),
  enabled: z.boolean().optional(),
});

/** SCHEDULES_JSON: `{ "<schedule>": { "cron"?, "every_ms"?, "tz"?, "enabled"? } }`. */
const schedulesJson = z.string().transform((text, ctx) => {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not valid JSON: ${(error as Error).message}` });
    return z.NEVER;
  }
  const parsed = z.record(z.string(), overrideSchema).safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(value)'}: ${issue.message}` });
    }
    return z.NEVER;
  }
  return parsed.data;
});

const ratio = z.coerce.number({ error: 'must be a number' }).min(0, 'must be 0..1').max(1, 'must be 0..1');

const cronVars = Object.fromEntries(SCHEDULE_NAMES.map((n) => [cronEnvName(n), z.string().optional()])) as Record<
  `SCHEDULE_${Uppercase<ScheduleName>}_CRON`,
  z.ZodOptional<z.ZodString>
>;

/** The scheduler's own variables (the runtime's are parsed with them). */
export const schedulerEnvShape = {
  // The runtime parses these too; declared here so setup() sees them typed.
  ...redisEnv,
  QUEUE_PREFIX: queuePrefix.default('{fleet}'),

  /** Time zone of every cron pattern unless a schedule sets its own. */
  SCHEDULER_TZ: z.string().default('UTC'),
  /** Overrides per schedule, as JSON (see README). */
  SCHEDULES_JSON: schedulesJson.optional(),
  /** SCHEDULE_<NAME>_CRON: a cron pattern, or "off"; wins over SCHEDULES_JSON. */
  ...cronVars,
  /** Ticks fanned out at once by one process. */
  SCHEDULER_TICK_CONCURRENCY: positiveInt.default(2),
  /** Jobs added to Redis at once during one fan-out. */
  SCHEDULER_ENQUEUE_CONCURRENCY: positiveInt.default(25),

  /** A `running` audit row older than this is reported as stuck. */
  HEALTH_STUCK_RUNNING_MINUTES: positiveInt.default(60),
  /** A queue whose oldest waiting job is older than this is backlogged. */
  HEALTH_MAX_WAIT_AGE_SECONDS: positiveInt.default(900),
  /** A queue with more waiting jobs than this is backlogged. */
  HEALTH_MAX_QUEUE_DEPTH: positiveInt.default(10_000),
  /** Failed share of finished attempts in the last hour above which the fleet is unhealthy. */
  HEALTH_MAX_FAILURE_RATE: ratio.default(0.25),
  /** The failure rate is judged only over at least this many finished attempts. */
  HEALTH_MIN_FAILURE_SAMPLE: positiveInt.default(20),

  /** autonomous_tasks rows older than this are deleted by data_cleanup. */
  CLEANUP_RETENTION_DAYS: positiveInt.max(3650).default(90),
  /** Rows deleted per statement (short transactions, short locks). */
  CLEANUP_BATCH_SIZE: positiveInt.max(50_000).default(5_000),
  /** Idempotency keys of the control plane older than this are deleted (same as its setting). */
  IDEMPOTENCY_KEY_TTL_HOURS: positiveInt.max(24 * 365, 'must be at most 8760 hours').default(24),
  /** Completed BullMQ jobs older than this are removed from Redis. */
  CLEANUP_COMPLETED_JOB_AGE_HOURS: positiveInt.default(24),
  /** Failed BullMQ jobs older than this are removed from Redis. */
  CLEANUP_FAILED_JOB_AGE_DAYS: positiveInt.default(7),
};

export type SchedulerEnv = z.output<z.ZodObject<typeof schedulerEnvShape>>;

/** The schedule list an environment describes; throws ScheduleConfigError listing every problem. */
export function schedulesFromEnv(env: SchedulerEnv): Schedule[] {
  const vars: Partial<Record<ScheduleName, string>> = {};
  for (const name of SCHEDULE_NAMES) {
    const value = (env as Record<string, unknown>)[cronEnvName(name)];
    if (typeof value === 'string' && value.trim() !== '') vars[name] = value;
  }
  return buildSchedules({ tz: env.SCHEDULER_TZ, overrides: env.SCHEDULES_JSON, cronVars: vars });
}
