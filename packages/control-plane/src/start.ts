import { parseEnv, redisTargetOf } from '@fleet/config';
import { openOps } from '@fleet/ops';
import { createRedis } from '@fleet/queues';
import { createLogger, createScrubber, explainListenError, secretValuesFromEnv } from '@fleet/runtime';
import { startTracing, type Tracing } from '@fleet/tracing';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { controlPlaneEnvSchema } from './env.ts';

export interface RunningControlPlane {
  app: FastifyInstance;
  /** Base URL it listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  log: Logger;
  /** SHUTDOWN_GRACE_MS: how long main.ts lets close() run before forcing exit. */
  shutdownGraceMs: number;
  close(): Promise<void>;
}

/**
 * Parses the environment, opens Postgres and Redis, and starts listening. Tests pass `env`
 * (CONTROL_PLANE_PORT=0 picks a free port); main.ts passes process.env. Without `tracing` it
 * starts its own from the OTEL_* variables (off unless OTEL_TRACES_EXPORTER names an exporter)
 * and stops it in close().
 */
export async function startControlPlane(
  options: { env?: NodeJS.ProcessEnv; log?: Logger; tracing?: Tracing } = {},
): Promise<RunningControlPlane> {
  const rawEnv = options.env ?? process.env;
  const env = parseEnv('control-plane', controlPlaneEnvSchema, rawEnv);
  const log =
    options.log ??
    createLogger({
      level: env.LOG_LEVEL,
      pretty: env.LOG_PRETTY ?? Boolean(process.stdout.isTTY),
      scrub: createScrubber(secretValuesFromEnv(rawEnv)),
      base: { service: 'control-plane' },
    });
  const tracing =
    options.tracing ?? startTracing(env, { serviceName: 'control-plane', instanceId: env.FLEET_INSTANCE_ID });
  const ownsTracing = !options.tracing;
  const ops = openOps({
    databaseUrl: env.DATABASE_URL,
    redis: redisTargetOf(env),
    prefix: env.QUEUE_PREFIX,
    poolMax: env.DB_POOL_MAX,
    applicationName: 'fleet-control-plane',
    queryTimeoutMs: env.DB_QUERY_TIMEOUT_MS,
    telemetry: tracing.bullmq,
  });
  const rateLimitRedis = createRedis(redisTargetOf(env), 'producer');
  let app: FastifyInstance;
  try {
    app = await buildApp({
      deps: ops,
      rateLimitRedis,
      log,
      adminKey: env.ADMIN_API_KEY,
      sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      trustProxy: env.TRUST_PROXY,
      refreshSeconds: env.DASHBOARD_REFRESH_SECONDS,
      stuckMinutes: env.STUCK_AFTER_MINUTES,
      idempotencyTtlMs: env.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
      instanceId: env.FLEET_INSTANCE_ID,
    });
    await app.listen({ port: env.CONTROL_PLANE_PORT, host: env.CONTROL_PLANE_HOST }).catch((error: unknown) => {
      throw explainListenError(error, {
        service: 'control-plane',
        host: env.CONTROL_PLANE_HOST,
        port: env.CONTROL_PLANE_PORT,
        variable: 'CONTROL_PLANE_PORT',
      });
    });
  } catch (error) {
    rateLimitRedis.disconnect();
    await ops.close();
    if (ownsTracing) await tracing.shutdown().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : env.CONTROL_PLANE_PORT;
  const host = env.CONTROL_PLANE_HOST === '0.0.0.0' ? '127.0.0.1' : env.CONTROL_PLANE_HOST;
  log.info({ port }, 'control plane listening');
  let closed = false;
  return {
    app,
    url: `http://${host}:${port}`,
    port,
    log,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      rateLimitRedis.disconnect();
      await ops.close();
      if (ownsTracing) await tracing.shutdown().catch((err) => log.warn({ err }, 'spans not exported at shutdown'));
    },
  };
}
