import { QUEUE_NAMES } from '@fleet/catalog';
import { ConfigError, redisTargetOf } from '@fleet/config';
import type { Database } from '@fleet/db';
import { createProducer, createRedis, type Producer, queueKeyPrefix, type RedisClient } from '@fleet/queues';
import { Queue } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type SchedulerEnv, schedulesFromEnv } from './env.ts';
import type { HealthThresholds } from './health-check.ts';
import { type ReconcileResult, reconcileSchedules, TICK_QUEUE } from './reconcile-schedules.ts';
import { describeTiming, type Schedule, ScheduleConfigError } from './schedules.ts';

/** What the scheduler's handlers and its tick worker (tick-worker.ts) share; built once per process. */
export interface SchedulerDeps {
  env: SchedulerEnv;
  schedules: Schedule[];
  reconciled: ReconcileResult;
  producer: Producer;
  /** Fail-fast client for health probes; also the tick queue's connection. */
  redis: RedisClient;
  tickQueue: Queue;
  /** Every catalog queue plus the tick queue, for depth checks and trimming. */
  queues: Record<string, Queue>;
  thresholds: HealthThresholds;
}

export function thresholdsFromEnv(env: SchedulerEnv): HealthThresholds {
  return {
    stuckRunningMs: env.HEALTH_STUCK_RUNNING_MINUTES * 60_000,
    maxWaitAgeMs: env.HEALTH_MAX_WAIT_AGE_SECONDS * 1_000,
    maxQueueDepth: env.HEALTH_MAX_QUEUE_DEPTH,
    maxFailureRate: env.HEALTH_MAX_FAILURE_RATE,
    minFailureSample: env.HEALTH_MIN_FAILURE_SAMPLE,
  };
}

/**
 * Reads the schedule configuration and makes Redis's job schedulers match it. The tick worker is
 * not started here: the runtime hosts it (the agent's controlWorkers). A bad configuration is a ConfigError (the process exits 78 listing every problem).
 */
export async function createSchedulerDeps(ctx: {
  env: SchedulerEnv;
  db: Kysely<Database>;
  log: Logger;
}): Promise<SchedulerDeps> {
  const { env, db, log } = ctx;
  let schedules: Schedule[];
  try {
    schedules = schedulesFromEnv(env);
  } catch (error) {
    if (error instanceof ScheduleConfigError) throw new ConfigError('scheduler', error.problems);
    throw error;
  }

  const redisTarget = redisTargetOf(env);
  const producer = createProducer({ redis: redisTarget, prefix: env.QUEUE_PREFIX, db });
  const redis = createRedis(redisTarget, 'producer');
  const tickQueue = new Queue(TICK_QUEUE, {
    connection: redis,
    prefix: queueKeyPrefix(redis, env.QUEUE_PREFIX, TICK_QUEUE),
  });
  tickQueue.on('error', (err) => log.warn({ err }, 'tick queue connection error'));
  try {
    const reconciled = await reconcileSchedules(tickQueue, schedules);
    log.info(
      {
        ...reconciled,
        schedules: Object.fromEntries(schedules.filter((s) => s.enabled).map((s) => [s.name, describeTiming(s)])),
      },
      'schedules reconciled',
    );
    const queues: Record<string, Queue> = Object.fromEntries(QUEUE_NAMES.map((n) => [n, producer.queue(n)]));
    queues[TICK_QUEUE] = tickQueue;
    return {
      env,
      schedules,
      reconciled,
      producer,
      redis,
      tickQueue,
      queues,
      thresholds: thresholdsFromEnv(env),
    };
  } catch (error) {
    await Promise.allSettled([producer.close(), tickQueue.close()]);
    redis.disconnect();
    throw error;
  }
}

/**
 * Closes every connection. The runtime has already drained and closed the tick worker (a running
 * fan-out finished with the producer still open).
 */
export async function closeSchedulerDeps(deps: SchedulerDeps): Promise<void> {
  await Promise.allSettled([deps.producer.close(), deps.tickQueue.close()]);
  deps.redis.disconnect();
}
