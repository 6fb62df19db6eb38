import { defineAgent } from '@fleet/runtime';
import { cleanup } from './cleanup.ts';
import { closeSchedulerDeps, createSchedulerDeps, type SchedulerDeps } from './deps.ts';
import { schedulerEnvShape } from './env.ts';
import { healthCheck } from './health-check.ts';
import { tickWorker } from './tick-worker.ts';

/**
 * The scheduler: owns every periodic schedule (BullMQ job schedulers on an internal tick queue,
 * reconciled in setup, fanned out per workspace by the tick worker the runtime hosts as a control
 * worker) and serves maintenance_queue.
 */
export default defineAgent<'maintenance_queue', SchedulerDeps, typeof schedulerEnvShape>({
  name: 'scheduler',
  queue: 'maintenance_queue',
  concurrency: 2,
  env: schedulerEnvShape,
  setup: createSchedulerDeps,
  teardown: closeSchedulerDeps,
  controlWorkers: [tickWorker],
  handlers: {
    async system_health_check(payload, { db, log, deps }) {
      const t = deps.thresholds;
      const report = await healthCheck({
        db,
        redis: deps.redis,
        queues: deps.queues,
        thresholds: {
          ...t,
          stuckRunningMs: payload.stuck_running_minutes ? payload.stuck_running_minutes * 60_000 : t.stuckRunningMs,
          maxWaitAgeMs: payload.max_wait_age_seconds ? payload.max_wait_age_seconds * 1_000 : t.maxWaitAgeMs,
          maxQueueDepth: payload.max_queue_depth ?? t.maxQueueDepth,
        },
      });
      // An unhealthy fleet is a finding, not a failed check: the task completes and says so.
      if (!report.postgres.ok || !report.redis.ok) log.error({ problems: report.problems }, 'fleet unhealthy');
      else if (!report.healthy) log.warn({ problems: report.problems }, 'fleet unhealthy');
      else log.info('fleet healthy');
      return { output: report };
    },
    async data_cleanup(payload, { db, log, signal, progress, deps }) {
      const env = deps.env;
      const report = await cleanup({
        db,
        queues: deps.queues,
        workspaceId: payload.workspace_id ?? null,
        retentionDays: payload.retention_days ?? env.CLEANUP_RETENTION_DAYS,
        idempotencyTtlMs: env.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
        batchSize: env.CLEANUP_BATCH_SIZE,
        completedJobAgeMs: env.CLEANUP_COMPLETED_JOB_AGE_HOURS * 3_600_000,
        failedJobAgeMs: env.CLEANUP_FAILED_JOB_AGE_DAYS * 86_400_000,
        signal,
        progress,
        log,
      });
      const broken = Object.entries(report.jobs_removed).filter(([, r]) => 'error' in r);
      log.info({ rows: report.audit_rows_deleted, jobs: report.jobs_removed_total }, 'cleanup done');
      if (broken.length > 0) {
        return {
          output: report,
          status: 'partial_failure',
          error: `could not trim ${broken.map(([q]) => q).join(', ')}`,
        };
      }
      return { output: report };
    },
  },
});
