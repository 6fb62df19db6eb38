import { randomUUID } from 'node:crypto';
import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import {
  attemptIdentity,
  catalog,
  type JobName,
  type PayloadInput,
  type QueueName,
  type Trigger,
  validatePayload,
  withTrigger,
} from '@fleet/catalog';
import type { RedisTarget } from '@fleet/config';
import { type Database, isUuid, type JsonObject } from '@fleet/db';
import { FleetAttributes, withSpan } from '@fleet/tracing';
import { type JobsOptions, Queue, type Telemetry } from 'bullmq';
import type { Kysely } from 'kysely';
import { createRedis, isCluster, type RedisClient } from './connection.ts';
import { EnqueueUnconfirmedError, isDefiniteRefusal, recordUnconfirmed } from './enqueue-outcome.ts';
import { queueKeyPrefix } from './key-layout.ts';

export interface ProducerOptions {
  /** A redis:// URL or a cluster (RedisTarget of @fleet/config). */
  redis: RedisTarget;
  /** BullMQ key prefix; the same one the workers use (QUEUE_PREFIX). */
  prefix: string;
  /** When given, enqueue() writes a `pending` audit row for each new job. */
  db?: Kysely<Database>;
  /**
   * BullMQ telemetry (Tracing.bullmq of @fleet/tracing): each job then carries the context of its
   * enqueue, and the worker's spans continue that trace.
   */
  telemetry?: Telemetry;
}

export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds from now. */
  delay?: number;
  /** 1 (highest) .. 2,097,152; jobs without a priority run before prioritized ones, as in BullMQ. */
  priority?: number;
  /** While a job with this id is waiting, delayed or active, enqueueing again returns that job. */
  deduplicationId?: string;
  /** The BullMQ job id; a new UUID when omitted. Adding an id that exists returns that job. */
  jobId?: string;
  /**
   * `jobId` is a UUID made for this call (e.g. one recorded with an idempotency key) and names no
   * job yet: the pending row is written before the add, as for ids the producer makes.
   */
  jobIdIsNew?: boolean;
  /** Written to autonomous_tasks.triggered_by; default 'api'. */
  triggeredBy?: Trigger;
  /** Skip the pending audit row even when the producer has a db. */
  writePending?: boolean;
  /** Override the catalog's retry count for this job. */
  attempts?: number;
  /** Override the catalog's backoff between retries. */
  backoff?: { type: 'fixed' | 'exponential'; delay: number };
}

export interface EnqueueResult {
  queue: QueueName;
  jobName: string;
  jobId: string;
  /** False when deduplication or an existing job id returned an earlier job. */
  created: boolean;
}

export interface Producer {
  enqueue<Q extends QueueName, J extends JobName<Q>>(
    queue: Q,
    jobName: J,
    payload: PayloadInput<Q, J>,
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /** Untyped variant for names that come from outside (CLI, HTTP); validates the same way. */
  enqueueRaw(queue: string, jobName: string, payload: unknown, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** The BullMQ Queue for `name` (created on first use). */
  queue(name: QueueName): Queue;
  close(): Promise<void>;
}

/**
 * The typed producer other services use. Payloads are validated against the catalog before
 * anything reaches Redis, and a `pending` audit row is written before the job can start.
 *
 * An add that fails is a definite refusal only when Redis answered with an error: the pending
 * row is then closed as `failed` at once. Any other failure (timeout, connection lost with the
 * command in flight) leaves the row pending, records the job in unconfirmed_enqueues for the
 * queue's reconciler to resolve against Redis, and rejects with EnqueueUnconfirmedError. The
 * connection is then reset, so that later calls do not queue up behind a dead path; the Redis
 * client may send the unanswered add once more on its fresh connection, which is harmless (an
 * existing job id is not added twice) and happens within seconds, well inside the reconciler's
 * grace period.
 */
export function createProducer(options: ProducerOptions): Producer {
  const connection: RedisClient = createRedis(options.redis, 'producer');
  const queues = new Map<QueueName, Queue>();
  const auditWriter: AuditWriter | null = options.db ? createAuditWriter({ db: options.db }) : null;

  /** Drops the connection with a TCP reset, discarding anything not yet sent; ioredis reconnects. */
  function resetConnection(): void {
    for (const node of isCluster(connection) ? connection.nodes() : [connection]) {
      const stream = node.stream as (typeof node.stream & { resetAndDestroy?: () => void }) | undefined;
      if (stream?.resetAndDestroy) stream.resetAndDestroy();
      else stream?.destroy();
    }
  }

  function queue(name: QueueName): Queue {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection,
        prefix: queueKeyPrefix(connection, options.prefix, name),
        defaultJobOptions: catalog[name].defaultJobOptions,
        ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      });
      q.on('error', () => {});
      queues.set(name, q);
    }
    return q;
  }

  /** One span per enqueue: the pending audit write and BullMQ's add are its children. */
  function enqueueRaw(
    queueName: string,
    jobName: string,
    payload: unknown,
    opts: EnqueueOptions = {},
  ): Promise<EnqueueResult> {
    const attributes = { [FleetAttributes.Queue]: queueName, [FleetAttributes.JobName]: jobName };
    return withSpan(`enqueue ${queueName}.${jobName}`, { attributes }, async (span) => {
      const result = await enqueueUntraced(queueName, jobName, payload, opts);
      span.setAttributes({ [FleetAttributes.JobId]: result.jobId, [FleetAttributes.Created]: result.created });
      return result;
    });
  }

  async function enqueueUntraced(
    queueName: string,
    jobName: string,
    payload: unknown,
    opts: EnqueueOptions,
  ): Promise<EnqueueResult> {
    const trigger = opts.triggeredBy ?? 'api';
    const { def, payload: data } = validatePayload(queueName, jobName, withTrigger(payload, trigger));
    const name = queueName as QueueName;
    const q = queue(name);
    const jobId = opts.jobId ?? randomUUID();
    // The job's creation time, given to BullMQ rather than left to it, so the pending row written
    // before the add carries the job.timestamp every later writer of the job sees: it is the audit
    // table's partition key (autonomous_tasks.created_at, migration 140).
    const createdAt = new Date();
    const jobOptions: JobsOptions = {
      ...catalog[name].defaultJobOptions,
      ...def.options,
      jobId,
      timestamp: createdAt.getTime(),
      ...(opts.delay !== undefined ? { delay: opts.delay } : {}),
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.attempts !== undefined ? { attempts: opts.attempts } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.deduplicationId ? { deduplication: { id: opts.deduplicationId } } : {}),
    };
    const start = {
      // The job as it will be added: not started yet, so attempt 1.
      ...attemptIdentity(
        { queueName, id: jobId, timestamp: createdAt.getTime(), attemptsStarted: 0, data },
        { trigger },
      ),
      taskType: def.taskType,
      agentName: catalog[name].agent,
      inputData: data as JsonObject,
      executedAt: createdAt,
      jobCreatedAt: createdAt,
    };
    const writePending = auditWriter !== null && opts.writePending !== false;
    // Without deduplication the id is ours, so the pending row can exist before the job can run.
    const newId = !opts.jobId || (opts.jobIdIsNew === true && isUuid(opts.jobId));
    const pendingFirst = writePending && !opts.deduplicationId && newId;
    if (pendingFirst) await auditWriter!.pending(start);
    if (opts.jobId && !newId) {
      // BullMQ ignores an add whose id exists and hands back a local copy that looks new.
      const existing = await q.getJob(opts.jobId);
      if (existing) return { queue: name, jobName: existing.name, jobId: opts.jobId, created: false };
    }
    let job: Awaited<ReturnType<Queue['add']>>;
    try {
      job = await q.add(jobName, data, jobOptions);
    } catch (error) {
      if (isDefiniteRefusal(error)) {
        if (pendingFirst) {
          await auditWriter!
            .finish(start, { status: 'failed', errorMessage: `could not enqueue: ${(error as Error).message}` })
            .catch(() => {});
        }
        throw error;
      }
      resetConnection();
      let recorded = false;
      if (pendingFirst) {
        recorded = await recordUnconfirmed(options.db!, {
          queueName,
          jobId,
          workspaceId: start.workspaceId,
          reason: (error as Error)?.message ?? String(error),
        }).then(
          () => true,
          () => false,
        );
      }
      throw new EnqueueUnconfirmedError(queueName, jobId, recorded, error);
    }
    const created = job.id === jobId && (job.timestamp ?? 0) >= start.executedAt.getTime() - 1_000;
    if (writePending && !pendingFirst && created) {
      await auditWriter!.pending({
        ...start,
        ...attemptIdentity(job, { trigger }),
        jobCreatedAt: new Date(job.timestamp),
      });
    }
    return { queue: name, jobName, jobId: job.id ?? jobId, created };
  }

  return {
    enqueue: (queueName, jobName, payload, opts) => enqueueRaw(queueName, jobName, payload, opts),
    enqueueRaw,
    queue,
    async close() {
      await auditWriter?.close();
      await Promise.all([...queues.values()].map((q) => q.close()));
      connection.disconnect();
    },
  };
}
