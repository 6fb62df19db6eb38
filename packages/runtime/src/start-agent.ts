import { createAuditWriter } from '@fleet/audit-writer';
import { taskTypeOf } from '@fleet/catalog';
import { parseEnv, redisRules, redisTargetOf } from '@fleet/config';
import { createDb } from '@fleet/db';
import { createRedis, queueKeyPrefix } from '@fleet/queues';
import { startTracing, type Tracing } from '@fleet/tracing';
import { Queue, Worker } from 'bullmq';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { z } from 'zod';
import { workerCapacity } from './ack-window.ts';
import { createCancelMarks } from './cancel-marks.ts';
import { type HostedControlWorker, hostControlWorker } from './control-worker.ts';
import { type DatabaseGate, type DatabaseGateTiming, startDatabaseGate } from './database-gate.ts';
import type { AnyAgent } from './define-agent.ts';
import { type RuntimeEnv, runtimeEnvShape } from './env.ts';
import { createHandlerSlots } from './handler-slots.ts';
import { startProbeServer } from './http-server.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { createProcessor, type OnAttemptStep, SHUTDOWN_REASON } from './processor.ts';
import { createReconciler, type Reconciler } from './reconciler.ts';
import { createScrubber, secretValuesFromEnv } from './secrets.ts';
import { withTimeout } from './with-timeout.ts';
import { bullmqTiming, FINISHED_JOBS_KEPT, workerTiming } from './worker-timing.ts';

/** The longest one step of closing after the drain (reconciler, queues, teardown) may take. */
const CLOSE_STEP_MS = 5_000;

export interface StartAgentOptions {
  /** Environment to parse (default process.env). Tests pass an object. */
  env?: NodeJS.ProcessEnv;
  /** Use this root logger instead of creating one. */
  log?: Logger;
  /** Where the created logger writes JSON lines (default stdout). */
  logDestination?: import('pino').DestinationStream;
  /** Probe timing of the database gate (tests shorten it). */
  databaseGate?: Partial<DatabaseGateTiming>;
  /**
   * Called synchronously at each step of every attempt (processor.ts: AttemptStep). Crash tests
   * use it to stop a worker at an exact step; a slow callback slows every job.
   */
  onAttemptStep?: OnAttemptStep;
  /**
   * Tracing to use (its owner shuts it down). By default the agent starts its own from the
   * OTEL_* variables, off unless OTEL_TRACES_EXPORTER names an exporter, and stops it in close().
   */
  tracing?: Tracing;
}

export interface RunningAgent {
  name: string;
  worker: Worker;
  queue: Queue;
  /** Port of the probe server (useful with HTTP_PORT=0). */
  port: number;
  log: Logger;
  reconciler: Reconciler;
  /** The control queues' workers the agent declared (controlWorkers), in declaration order. */
  controlWorkers: HostedControlWorker[];
  /** Pauses the worker while the audit database is unreachable (database-gate.ts). */
  databaseGate: DatabaseGate;
  /**
   * Stops taking jobs, waits up to graceMs for active ones, then aborts them (they are
   * retried elsewhere) and closes every connection. Resolves to true when all finished in time.
   */
  close(graceMs?: number): Promise<boolean>;
}

/**
 * Starts an agent: parses config, opens Postgres and Redis, starts the BullMQ worker with the
 * audited processor, the reconciler, the cancel listener and the probe server.
 */
export async function startAgent(agent: AnyAgent, options: StartAgentOptions = {}): Promise<RunningAgent> {
  checkControlQueues(agent);
  const rawEnv = options.env ?? process.env;
  // One schema for the runtime's and the agent's variables, so one message lists every problem.
  const schema = redisRules(z.object({ ...runtimeEnvShape, ...(agent.env ?? {}) }));
  const env = parseEnv(
    agent.name,
    agent.refineEnv ? schema.superRefine(agent.refineEnv) : schema,
    rawEnv,
  ) as RuntimeEnv & Record<string, unknown>;
  const scrub = createScrubber(secretValuesFromEnv(rawEnv));
  const log =
    options.log ??
    createLogger({
      level: env.LOG_LEVEL,
      pretty: env.LOG_PRETTY ?? Boolean(process.stdout.isTTY),
      scrub,
      base: { agent: agent.name },
      destination: options.logDestination,
    });

  const tracing = options.tracing ?? startTracing(env, { serviceName: agent.name, instanceId: env.FLEET_INSTANCE_ID });
  const ownsTracing = !options.tracing;

  const dbOptions = { queryTimeoutMillis: env.DB_QUERY_TIMEOUT_MS, applicationName: `fleet-${agent.name}` };
  const db = createDb(env.DATABASE_URL, { ...dbOptions, max: env.DB_POOL_MAX });
  // The audit writer gets its own small pool, so busy handlers can never starve it of connections.
  const auditDb = createDb(env.DATABASE_URL, { ...dbOptions, max: 2, applicationName: `fleet-${agent.name}-audit` });
  const auditWriter = createAuditWriter({ db: auditDb, log, runningDelayMs: env.AUDIT_RUNNING_DELAY_MS });

  const redisTarget = redisTargetOf(env);
  const connection = createRedis(redisTarget, 'worker');
  const subscriber = createRedis(redisTarget, 'worker');
  const keyPrefix = queueKeyPrefix(connection, env.QUEUE_PREFIX, agent.queue);
  const queue = new Queue(agent.queue, { connection, prefix: keyPrefix });
  queue.on('error', (err) => log.warn({ err }, 'queue connection error'));

  let deps: unknown;
  try {
    deps = agent.setup ? await agent.setup({ env, db, log }) : undefined;
  } catch (error) {
    await Promise.allSettled([db.destroy(), auditDb.destroy(), queue.close(), ownsTracing && tracing.shutdown()]);
    connection.disconnect();
    subscriber.disconnect();
    throw error;
  }

  const timing = workerTiming(env, agent.timing);
  // Control queues share the agent's connection, timing, metrics and shutdown; their jobs are
  // not audited (control-worker.ts).
  const controlDefs = (agent.controlWorkers ?? []).map((control) => ({
    control,
    prefix: queueKeyPrefix(connection, env.QUEUE_PREFIX, control.queue),
  }));
  const controlQueues = controlDefs.map(({ control, prefix }) => {
    const q = new Queue(control.queue, { connection, prefix });
    q.on('error', (err) => log.warn({ err, queue: control.queue }, 'control queue connection error'));
    return q;
  });
  const metrics = createMetrics({ agent: agent.name, queue, controlQueues, processMetrics: env.METRICS_PROCESS });
  const controls = controlDefs.map(({ control, prefix }) =>
    hostControlWorker(control, {
      connection,
      prefix,
      db,
      log,
      deps,
      metrics,
      scrub,
      timing,
      instanceId: env.FLEET_INSTANCE_ID,
    }),
  );
  const lockDuration = timing.lockDurationMs;
  const capacity = workerCapacity(env, agent);

  const cancels = createCancelMarks({ redis: connection, prefix: env.QUEUE_PREFIX, queue: agent.queue, log });
  const reconciler = createReconciler({
    queue,
    db,
    auditWriter,
    log,
    scrub,
    agentName: agent.name,
    taskTypeOf: (name) => taskTypeOf(agent.queue, name),
    minAgeMs: lockDuration,
    intervalMs: env.RECONCILE_INTERVAL_MS,
    cancelReasonOf: (jobId) => cancels.reasonFor(jobId),
  });

  const slots = createHandlerSlots(capacity.slots);
  const processor = createProcessor({
    agent,
    deps,
    db,
    auditWriter,
    log,
    scrub,
    metrics,
    closeEarlierAttempts: (job, start) => reconciler.closeEarlierAttempts(job, start),
    cancels,
    slots,
    onStep: options.onAttemptStep,
  });

  const worker = new Worker(agent.queue, processor, {
    connection,
    prefix: keyPrefix,
    // Handler slots plus the acknowledgement window (ack-window.ts); the slots are enforced by
    // the processor. BullMQ locks, renews, stalls, delays and retries every job it holds.
    concurrency: capacity.held,
    ...bullmqTiming(timing),
    // Recorded as each job's processedBy: process mode finds the jobs of a child that died by it.
    name: env.FLEET_INSTANCE_ID,
    ...FINISHED_JOBS_KEPT,
    autorun: false,
    // The job carries its enqueue's trace context; BullMQ's `process` span continues it.
    ...(tracing.bullmq ? { telemetry: tracing.bullmq } : {}),
  });
  worker.on('error', (err) => log.warn({ err }, 'worker error'));
  worker.on('stalled', (jobId) => {
    log.warn({ jobId }, 'job stalled (its worker stopped renewing the lock)');
    reconciler.nudge();
  });

  await cancels.listen(subscriber, (jobId, reason) => {
    if (worker.cancelJob(jobId, reason)) log.info({ jobId, reason }, 'cancelling job');
  });

  // The subscriber only listens, so without traffic of its own a dead path would go unnoticed
  // (socketTimeout arms only while a command awaits its reply): ping it.
  const subscriberPing = setInterval(() => {
    subscriber.ping().catch(() => {});
  }, 10_000);
  subscriberPing.unref();

  // Its own one-connection pool: a busy audit pool must not look like a dead database.
  const probeDb = createDb(env.DATABASE_URL, { ...dbOptions, max: 1, applicationName: `fleet-${agent.name}-probe` });
  const databaseGate = startDatabaseGate({
    ...options.databaseGate,
    probe: () => sql`SELECT 1`.execute(probeDb),
    pause: () => worker.pause(true),
    resume: () => worker.resume(),
    log,
    scrub,
  });
  let closing = false;
  const probe = await startProbeServer({
    service: agent.name,
    instanceId: env.FLEET_INSTANCE_ID,
    host: env.HTTP_HOST,
    port: env.HTTP_PORT,
    registry: metrics.registry,
    alive: () => !closing,
    async checkDependencies() {
      const problems: Record<string, string> = {};
      await Promise.all([
        withTimeout(connection.ping(), 2_000, 'Redis').catch((e: Error) => {
          problems.redis = scrub(e.message);
        }),
        withTimeout(sql`SELECT 1`.execute(db), 2_000, 'Postgres').catch((e: Error) => {
          problems.postgres = scrub(e.message);
        }),
      ]);
      const gateClosed = databaseGate.problem();
      if (gateClosed) problems.audit = gateClosed;
      for (const c of controls) {
        const problem = c.problem();
        if (problem) problems[`control:${c.queue}`] = problem;
      }
      return problems;
    },
  }).catch(async (error: unknown) => {
    // The port is taken (a configuration error): release what was opened before saying so.
    clearInterval(subscriberPing);
    await databaseGate.stop();
    await Promise.allSettled([worker.close(), ...controls.map((c) => c.close()), reconciler.stop(), queue.close()]);
    await Promise.allSettled([...controlQueues.map((q) => q.close()), agent.teardown?.(deps)]);
    subscriber.disconnect();
    connection.disconnect();
    await Promise.allSettled([auditWriter.close(), db.destroy(), auditDb.destroy(), probeDb.destroy()]);
    if (ownsTracing) await tracing.shutdown().catch(() => {});
    throw error;
  });

  void worker.run().catch((err) => log.error({ err }, 'worker stopped unexpectedly'));
  await worker.waitUntilReady();
  await Promise.all(controls.map((c) => c.start()));
  log.info(
    {
      queue: agent.queue,
      ...(controls.length > 0 && { controlQueues: controls.map((c) => c.queue) }),
      concurrency: capacity.slots,
      ackWindow: capacity.window,
      port: probe.port,
      lockDuration,
      instance: env.FLEET_INSTANCE_ID,
    },
    'agent started',
  );

  return {
    name: agent.name,
    worker,
    queue,
    port: probe.port,
    log,
    reconciler,
    controlWorkers: controls,
    databaseGate,
    async close(graceMs = env.SHUTDOWN_GRACE_MS) {
      if (closing) return true;
      closing = true;
      log.info({ graceMs }, 'stopping: finishing active jobs');
      await databaseGate.stop();
      let timer: NodeJS.Timeout | undefined;
      // Control workers stop fetching and drain with the agent's worker, under the same grace.
      const workerClosed = Promise.all([worker.close(), ...controls.map((c) => c.close())]);
      // Jobs fetched but not started go back to the queue at once, for a live worker to run.
      slots.close(SHUTDOWN_REASON);
      const drained = await Promise.race([
        workerClosed.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) {
        log.warn('grace period over: aborting active jobs; they will be retried');
        worker.cancelAllJobs(SHUTDOWN_REASON);
        for (const c of controls) c.abort(SHUTDOWN_REASON);
        // Handlers that honour their signal stop within moments: waiting for them records their
        // rows and hands their jobs back for a retry, rather than leaving them to stall.
        const settled = await withTimeout(workerClosed, 5_000, 'worker').then(
          () => true,
          () => false,
        );
        if (!settled) {
          await withTimeout(
            Promise.all([worker.close(true), ...controls.map((c) => c.forceClose())]),
            5_000,
            'worker',
          ).catch(() => {});
        }
      }
      clearInterval(subscriberPing);
      // A Redis node that died (a cluster master before its failover) can leave a reconcile pass
      // or a queue's close waiting on it: past these bounds the connections are simply cut.
      await withTimeout(reconciler.stop(), CLOSE_STEP_MS, 'the reconciler').catch((err) =>
        log.warn({ err }, 'reconciler did not stop in time'),
      );
      await auditWriter.close().catch((err) => log.error({ err }, 'audit rows not flushed at shutdown'));
      await withTimeout(
        Promise.allSettled([
          probe.close(),
          queue.close(),
          ...controlQueues.map((q) => q.close()),
          agent.teardown?.(deps),
        ]),
        CLOSE_STEP_MS,
        'queues and teardown',
      ).catch((err) => log.warn({ err }, 'queues or teardown did not close in time; cutting the connections'));
      subscriber.disconnect();
      connection.disconnect();
      await Promise.allSettled([db.destroy(), auditDb.destroy(), probeDb.destroy()]);
      // The last spans (the final attempts' audit writes) are exported before the process exits.
      if (ownsTracing) await tracing.shutdown().catch((err) => log.warn({ err }, 'spans not exported at shutdown'));
      log.info({ drained }, 'stopped');
      return drained;
    },
  };
}

/** Each control queue once, and none the agent's own queue: two workers on one queue would race. */
function checkControlQueues(agent: AnyAgent): void {
  const seen = new Set<string>([agent.queue]);
  for (const c of agent.controlWorkers ?? []) {
    if (seen.has(c.queue)) {
      throw new Error(
        `${agent.name}: controlWorkers declares queue ${c.queue} twice or as the agent's own queue; give each control worker a queue of its own`,
      );
    }
    seen.add(c.queue);
  }
}
