import { booleanFlag, commonEnv, port, positiveInt } from '@fleet/config';
import { tracingEnv } from '@fleet/tracing';
import { z } from 'zod';

/**
 * Variables every agent process reads (its own are added by the agent's `env` shape).
 * Defaults suit jobs of seconds; see .env.example for the full list with explanations.
 */
export const runtimeEnvShape = {
  ...commonEnv,
  /** Port of /healthz, /readyz and /metrics (0 picks a free one). */
  HTTP_PORT: port.default(9464),
  HTTP_HOST: z.string().default('0.0.0.0'),
  /** Handlers run at once (handler slots); overrides the agent's own concurrency. */
  WORKER_CONCURRENCY: positiveInt.optional(),
  /**
   * Jobs a worker may hold beyond its handler slots: finished jobs awaiting their audit commit,
   * or fetched jobs awaiting a slot. Default 4 per slot, at most 200 (ack-window.ts).
   */
  AUDIT_ACK_WINDOW: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be zero or more')
    .max(10_000, 'must be at most 10000')
    .optional(),
  /** How long SIGTERM waits for active jobs before forcing exit. */
  SHUTDOWN_GRACE_MS: positiveInt.default(25_000),
  /** Worker timing (see worker-timing.ts for the defaults and why they find a dead worker in 30 s). */
  LOCK_DURATION_MS: positiveInt.optional(),
  LOCK_RENEW_MS: positiveInt.optional(),
  STALLED_INTERVAL_MS: positiveInt.optional(),
  MAX_STALLED_COUNT: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0).optional(),
  /** How often the reconciler looks for audit rows left open by lost workers. */
  RECONCILE_INTERVAL_MS: positiveInt.default(30_000),
  /** A running row is written only for attempts still open after this long (see @fleet/audit-writer). */
  AUDIT_RUNNING_DELAY_MS: z.coerce.number().int().min(0).default(250),
  DB_POOL_MAX: positiveInt.default(10),
  /** Client-side timeout on each Postgres query; catches half-open connections. */
  DB_QUERY_TIMEOUT_MS: positiveInt.default(15_000),
  /** Set to false to leave out Node's default process metrics. */
  METRICS_PROCESS: booleanFlag.default(true),
  /** Traces (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME): off by default. */
  ...tracingEnv,
};

export type RuntimeEnv = z.output<z.ZodObject<typeof runtimeEnvShape>>;
