import type { AuditWriter, TaskStart } from '@fleet/audit-writer';
import { attemptIdentity, parseAuditJobId } from '@fleet/catalog';
import type { Database, TaskType } from '@fleet/db';
import type { Job, Queue } from 'bullmq';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { taskStart } from './processor.ts';
import type { Scrubber } from './secrets.ts';
import { resolveUnconfirmedEnqueues, UNCONFIRMED_GRACE_MS } from './unconfirmed-enqueues.ts';

export interface ReconcilerOptions {
  queue: Queue;
  db: Kysely<Database>;
  auditWriter: AuditWriter;
  log: Logger;
  scrub: Scrubber;
  agentName: string;
  taskTypeOf(jobName: string): TaskType;
  /** Rows younger than this are left alone (their attempt may simply not have finished). */
  minAgeMs: number;
  intervalMs: number;
  /** How many of the newest failed jobs each sweep checks for attempts without a row. */
  failedScan?: number;
  /** How long an enqueue with an unknown outcome may be absent from Redis before it counts. */
  unconfirmedGraceMs?: number;
  /** The recorded cancel of a job (cancel-marks.ts): its lost attempt is closed as cancelled. */
  cancelReasonOf?(jobId: string): string | undefined;
}

export interface Reconciler {
  /** One pass; returns how many rows it closed or created. */
  sweep(): Promise<number>;
  /** Records rows for attempts of `job` before `current` that have none or are still open. */
  closeEarlierAttempts(job: Job, current: TaskStart): void;
  /** Runs a sweep soon (after a stalled event). */
  nudge(): void;
  stop(): Promise<void>;
}

const LOST =
  'worker lost: the attempt ended without recording a result (process killed, crashed or lost its lock, or its audit database was unreachable)';

/**
 * Closes audit rows whose worker died. Every replica runs one; writes are idempotent upserts, so
 * replicas racing on the same row are harmless, and a terminal row is never changed.
 *
 * It works from two directions:
 *  - open rows (pending/running) older than minAgeMs whose BullMQ job no longer runs that attempt;
 *  - recently failed jobs with attempts that have no row at all (a worker killed before its
 *    write-behind running row was flushed, then failed by BullMQ's stall limit).
 * Attempts lost mid-retry are closed by the next attempt itself (closeEarlierAttempts).
 */
export function createReconciler(o: ReconcilerOptions): Reconciler {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = false;

  function startFor(job: Job, attempt: number): TaskStart {
    return { ...taskStart(job, o.agentName, o.taskTypeOf(job.name), o.scrub, attempt), executedAt: new Date() };
  }

  async function openRows(status: 'running' | 'pending', limit: number) {
    let q = o.db
      .selectFrom('autonomous_tasks')
      .select([
        'job_id',
        'attempt',
        'status',
        'task_type',
        'workspace_id',
        'input_data',
        'triggered_by',
        'executed_at',
        'created_at',
      ])
      .where('queue_name', '=', o.queue.name)
      .where('status', '=', status)
      .where('executed_at', '<', new Date(Date.now() - o.minAgeMs))
      .limit(limit);
    // Pending rows of jobs that simply wait (delayed, backlog) stay open legitimately and may be
    // many; a random sample keeps them from crowding out the rows of lost attempts.
    q = status === 'running' ? q.orderBy('executed_at') : q.orderBy(sql`random()`);
    // Pending rows whose enqueue is unconfirmed are resolved by resolveUnconfirmedEnqueues.
    if (status === 'pending') {
      q = q.where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('unconfirmed_enqueues as u')
              .select('u.job_id')
              .whereRef('u.queue_name', '=', 'autonomous_tasks.queue_name')
              .whereRef('u.job_id', '=', 'autonomous_tasks.job_id'),
          ),
        ),
      );
    }
    return q.execute();
  }

  async function closeOpenRows(): Promise<number> {
    const rows = [...(await openRows('running', 500)), ...(await openRows('pending', 100))];
    let closed = 0;
    for (const row of rows) {
      const jobId = row.job_id!;
      const attempt = row.attempt!;
      const ref = parseAuditJobId(jobId);
      const found = await o.queue.getJob(ref.jobId);
      // Same id, different job (ids restart after Redis data loss): the row's job is gone.
      const job = found && (ref.timestamp === null || found.timestamp === ref.timestamp) ? found : undefined;
      const start: TaskStart = {
        queueName: o.queue.name,
        jobId,
        attempt,
        workspaceId: row.workspace_id,
        taskType: row.task_type,
        agentName: o.agentName,
        triggeredBy: row.triggered_by,
        inputData: row.input_data,
        executedAt: row.executed_at,
        jobCreatedAt: row.created_at,
      };
      if (!job) {
        const cancelled = row.status === 'pending';
        await o.auditWriter.finish(start, {
          status: cancelled ? 'cancelled' : 'failed',
          errorMessage: cancelled
            ? 'job removed from the queue before it ran'
            : 'job removed from the queue while running',
        });
        closed++;
        continue;
      }
      const started = job.attemptsStarted;
      if (started < attempt) continue; // pending row of a job still waiting for its first start
      if (started === attempt) {
        const state = await job.getState();
        if (state === 'active') continue; // running now (here or on another replica)
        if (state === 'completed') continue; // its own terminal write is in flight
      }
      const cancelled = o.cancelReasonOf?.(String(job.id));
      await o.auditWriter.finish(
        start,
        cancelled !== undefined
          ? { status: 'cancelled', errorMessage: `cancelled: ${cancelled} (its worker was lost before it stopped)` }
          : {
              status: 'failed',
              errorMessage:
                started > attempt ? `${LOST}; a later attempt started` : `${LOST}; job is now ${await job.getState()}`,
            },
      );
      closed++;
    }
    return closed;
  }

  async function fillMissingAttempts(): Promise<number> {
    const jobs = (await o.queue.getJobs(['failed'], 0, (o.failedScan ?? 200) - 1, false)).filter(
      (j): j is Job => Boolean(j?.id) && j.attemptsStarted > 0,
    );
    if (jobs.length === 0) return 0;
    const auditIds = jobs.map((j) => attemptIdentity(j).jobId);
    const { rows } = await sql<{ job_id: string; attempt: number }>`
      SELECT job_id, attempt FROM autonomous_tasks
      WHERE queue_name = ${o.queue.name} AND job_id = ANY(${auditIds}::text[])
    `.execute(o.db);
    const have = new Set(rows.map((r) => `${r.job_id}#${r.attempt}`));
    const writes: Promise<void>[] = [];
    for (const [i, job] of jobs.entries()) {
      for (let attempt = 1; attempt <= job.attemptsStarted; attempt++) {
        if (have.has(`${auditIds[i]}#${attempt}`)) continue;
        const reason = attempt === job.attemptsStarted && job.failedReason ? `; BullMQ: ${job.failedReason}` : '';
        writes.push(
          o.auditWriter.finish(startFor(job, attempt), { status: 'failed', errorMessage: `${LOST}${reason}` }),
        );
      }
    }
    await Promise.all(writes);
    return writes.length;
  }

  async function sweep(): Promise<number> {
    if (running) return running;
    running = (async () => {
      try {
        const unconfirmed = await resolveUnconfirmedEnqueues({
          queue: o.queue,
          db: o.db,
          auditWriter: o.auditWriter,
          agentName: o.agentName,
          graceMs: o.unconfirmedGraceMs ?? UNCONFIRMED_GRACE_MS,
        });
        const n = unconfirmed + (await closeOpenRows()) + (await fillMissingAttempts());
        if (n > 0) o.log.warn({ rows: n, queue: o.queue.name }, 'reconciler closed audit rows of lost attempts');
        return n;
      } catch (error) {
        o.log.warn({ err: error }, 'reconciler sweep failed; will try again');
        return 0;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function schedule(delay: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void sweep().finally(() => schedule(o.intervalMs));
    }, delay);
    timer.unref();
  }
  schedule(o.intervalMs);

  return {
    sweep,
    nudge: () => schedule(Math.min(1_000, o.intervalMs)),
    closeEarlierAttempts(_job, current) {
      // Upserts: a no-op for attempts that already have a terminal row. Retried with backoff in
      // the background while the database is unreachable (the usual reason earlier attempts have
      // no row), until written or the process stops.
      const write = (attemptNo: number) =>
        Promise.all(
          Array.from({ length: current.attempt - 1 }, (_, i) =>
            o.auditWriter.finish(
              { ...current, attempt: i + 1, executedAt: new Date() },
              { status: 'failed', errorMessage: LOST },
            ),
          ),
        ).catch((error) => {
          if (stopped || attemptNo >= 12) {
            o.log.warn({ err: error }, 'could not record earlier attempts');
            return;
          }
          const retry = setTimeout(() => void write(attemptNo + 1), Math.min(60_000, 500 * 2 ** attemptNo));
          retry.unref();
        });
      void write(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
