import { booleanFlag, commonEnv, port, positiveInt, redisRules } from '@fleet/config';
import { tracingEnv } from '@fleet/tracing';
import { z } from 'zod';

/** The control plane's configuration; parsed once in main.ts (tests pass an object). */
export const controlPlaneEnvSchema = redisRules(
  z.object({
    ...commonEnv,
    // HTTP ------------------------------------------------------------------------------------------
    CONTROL_PLANE_PORT: port.default(8080),
    CONTROL_PLANE_HOST: z.string().min(1).default('0.0.0.0'),
    /** Behind a reverse proxy: trust X-Forwarded-* (client IPs for rate limits, https for cookies). */
    TRUST_PROXY: booleanFlag.default(false),
    /** Largest request body accepted; larger ones get 413 before they are parsed. */
    BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
    // Auth ------------------------------------------------------------------------------------------
    /** The one key with access to every workspace, bull-board and key management. */
    ADMIN_API_KEY: z
      .string({ error: 'is required: the admin API key (at least 24 characters)' })
      .min(24, 'must be at least 24 characters (use e.g. `openssl rand -base64 32`)'),
    /** Lifetime of a dashboard login. */
    SESSION_TTL_HOURS: positiveInt.max(24 * 30, 'must be at most 720 hours').default(12),
    /**
     * How long an Idempotency-Key holds: a repeat within this time returns the first job; later it
     * is a new request. data_cleanup deletes keys older than this (set the same value for it).
     */
    IDEMPOTENCY_KEY_TTL_HOURS: positiveInt.max(24 * 365, 'must be at most 8760 hours').default(24),
    /** Requests per minute per key (or per client IP before authentication). */
    RATE_LIMIT_PER_MINUTE: positiveInt.default(600),
    // Dashboard -------------------------------------------------------------------------------------
    DASHBOARD_REFRESH_SECONDS: positiveInt.default(15),
    /** A running row older than this is listed as stuck. */
    STUCK_AFTER_MINUTES: positiveInt.default(15),
    // Resources -------------------------------------------------------------------------------------
    DB_POOL_MAX: positiveInt.default(10),
    DB_QUERY_TIMEOUT_MS: positiveInt.default(15_000),
    SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
    // Traces ----------------------------------------------------------------------------------------
    ...tracingEnv,
  }),
);

export type ControlPlaneEnv = z.output<typeof controlPlaneEnvSchema>;
