import { auditJobId, findJob, isQueueName, jobsOf, parseAuditJobId, QUEUE_NAMES } from '@fleet/catalog';
import { type Database, isUuid, type Task } from '@fleet/db';
import type { Job } from 'bullmq';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Access, ADMIN, assertWorkspace, canSeeTask, TENANT_TASK_TYPES } from './access.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { OpsDeps } from './deps.ts';
import { invalidInput, notFound } from './errors.ts';
import { parseTaskFilters, type TaskFiltersInput } from './task-filters.ts';
import { textProblem } from './text.ts';

export interface TaskPage {
  /** Newest first by (created_at, id). */
  tasks: Task[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/**
 * One page of audit rows, newest first. Keyset pagination on (created_at, id): rows inserted
 * while someone pages never shift or repeat later pages.
 */
export async function listTasks(
  db: Kysely<Database>,
  rawFilters: TaskFiltersInput = {},
  access: Access = ADMIN,
): Promise<TaskPage> {
  const f = parseTaskFilters(rawFilters);
  if (f.workspace_id) assertWorkspace(access, f.workspace_id);
  const cursor = f.cursor ? decodeCursor(f.cursor) : null;

  const scoped = access.kind === 'workspaces' && !f.workspace_id ? [...access.workspaceIds] : null;
  // One page of rows, newest first, from the rows `where` lets through.
  const pageQuery = (from: Kysely<Database>, where?: RawBuilder<boolean>) => {
    let q = from
      .selectFrom('autonomous_tasks')
      .selectAll()
      .select(sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_ts'));
    if (where) q = q.where(where);
    if (access.kind === 'workspaces') q = q.where('task_type', 'in', [...TENANT_TASK_TYPES]);
    if (f.workspace_id) q = q.where('workspace_id', '=', f.workspace_id);
    if (f.task_type) q = q.where('task_type', 'in', f.task_type);
    if (f.status) q = q.where('status', 'in', f.status);
    if (f.queue) q = q.where('queue_name', '=', f.queue);
    if (f.job_id) q = q.where('job_id', '=', f.job_id);
    if (f.since) q = q.where('created_at', '>=', f.since);
    if (f.until) q = q.where('created_at', '<', f.until);
    if (cursor) {
      q = q.where(sql<boolean>`(created_at, id) < (${cursor.createdAt}::timestamptz, ${cursor.id}::uuid)`);
    }
    return q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit + 1);
  };

  let rows: Array<Task & { cursor_ts: string }>;
  if (scoped && scoped.length > 1) {
    // A key scoped to several workspaces: one index range per workspace, merged. A single
    // `workspace_id = ANY(...) ORDER BY created_at` walks the global time index instead, which
    // reads the whole table when those workspaces are new or small (bench/queries-at-scale.ts).
    const { rows: merged } = await sql<Task & { cursor_ts: string }>`
      SELECT t.* FROM unnest(${scoped}::uuid[]) AS w(id)
      CROSS JOIN LATERAL (${pageQuery(db, sql<boolean>`workspace_id = w.id`)}) t
      ORDER BY t.created_at DESC, t.id DESC
      LIMIT ${f.limit + 1}`.execute(db);
    rows = merged;
  } else {
    rows = await pageQuery(db, scoped ? sql<boolean>`workspace_id = ${scoped[0] ?? null}` : undefined).execute();
  }

  const more = rows.length > f.limit;
  const page = more ? rows.slice(0, f.limit) : rows;
  const last = page.at(-1);
  return {
    tasks: page.map(({ cursor_ts: _, ...task }) => task),
    nextCursor: more && last ? encodeCursor({ createdAt: last.cursor_ts, id: last.id }) : null,
  };
}

/** The live BullMQ view of a job, when it is still in Redis. */
export interface JobInfo {
  queue: string;
  id: string;
  name: string;
  state: string;
  attemptsStarted: number;
  attemptsMade: number;
  maxAttempts: number;
  failedReason: string | null;
  progress: unknown;
  delayMs: number;
  priority: number;
  createdAt: Date;
  processedAt: Date | null;
  finishedAt: Date | null;
  /**
   * The worker that took the latest attempt (BullMQ's processedBy: the worker's name, which the
   * runtime sets to FLEET_INSTANCE_ID). BullMQ keeps no earlier attempt's worker.
   */
  processedBy: string | null;
}

export interface TaskDetail {
  /** The row asked for (by row id), or the latest attempt of the job (by job id); null when
   * the job is in Redis but has no audit row yet. */
  task: Task | null;
  /** Every attempt row of the same job, oldest first. */
  attempts: Task[];
  queue: string;
  /** The BullMQ job id. */
  jobId: string;
  /** The job id as recorded in autonomous_tasks.job_id (see auditJobId in @fleet/queues). */
  auditJobId: string;
  job: JobInfo | null;
  /** The job's payload: from Redis when the job is there, else the latest row's input_data. */
  payload: unknown;
}

export interface GetTaskOptions {
  access?: Access;
  /** Narrows a job-id lookup to one queue (job ids are only unique per queue). */
  queue?: string;
}

/**
 * A task by audit row id or by BullMQ job id, with all attempts of its job and the job's live
 * state. A task the caller may not see is reported as not found (its existence is not leaked).
 */
export async function getTask(deps: OpsDeps, id: string, options: GetTaskOptions = {}): Promise<TaskDetail> {
  const access = options.access ?? ADMIN;
  if (!id || id.length > 200) {
    throw invalidInput('invalid task id', [{ field: 'id', message: 'must be a row UUID or a job id (1-200 chars)' }]);
  }
  const idProblem = textProblem(id, 'id');
  if (idProblem) throw invalidInput(`invalid task id: ${idProblem}`, [{ field: 'id', message: idProblem }]);
  if (options.queue !== undefined && !isQueueName(options.queue)) {
    throw invalidInput(`unknown queue "${options.queue}"`, [
      { field: 'queue', message: `must be one of ${QUEUE_NAMES.join(', ')}` },
    ]);
  }
  const { db } = deps;
  let byRow: Task | undefined;
  if (isUuid(id)) {
    byRow = await db.selectFrom('autonomous_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }
  let queue: string | null = byRow?.queue_name ?? null;
  // Rows record non-UUID job ids as `<id>@<job timestamp>` (auditJobId); accept either form.
  let auditId: string | null = byRow?.job_id ?? null;

  if (!byRow) {
    const escaped = id.replace(/[\\%_]/g, (c) => `\\${c}`);
    let q = db
      .selectFrom('autonomous_tasks')
      .select(['queue_name', 'job_id'])
      .where((eb) => eb.or([eb('job_id', '=', id), eb('job_id', 'like', `${escaped}@%`)]))
      .orderBy('created_at', 'desc')
      .limit(1);
    if (options.queue) q = q.where('queue_name', '=', options.queue);
    const hit = await q.executeTakeFirst();
    if (hit?.queue_name) {
      queue = hit.queue_name;
      auditId = hit.job_id;
    }
  }
  let jobId: string | null = auditId ? parseAuditJobId(auditId).jobId : null;

  let job: Job | undefined;
  if (!queue) {
    // No audit row yet (e.g. a job added with BullMQ directly): look for the job in Redis.
    for (const name of options.queue ? [options.queue] : QUEUE_NAMES) {
      job = (await deps.producer.queue(name as never).getJob(id)) ?? undefined;
      if (job) {
        queue = name;
        jobId = id;
        auditId = auditJobId(id, job.timestamp);
        break;
      }
    }
  } else if (jobId && isQueueName(queue)) {
    job = (await deps.producer.queue(queue).getJob(jobId)) ?? undefined;
    // The same id may now belong to a newer job (ids restart after Redis data loss).
    const recorded = auditId ? parseAuditJobId(auditId).timestamp : null;
    if (job && recorded !== null && job.timestamp !== recorded) job = undefined;
  }

  if (!byRow && !jobId) throw notFound(`no task or job with id ${id}`);

  const attempts =
    queue && auditId
      ? await db
          .selectFrom('autonomous_tasks')
          .selectAll()
          .where('queue_name', '=', queue)
          .where('job_id', '=', auditId)
          .orderBy('attempt', 'asc')
          .execute()
      : [];
  const task = byRow ?? attempts.at(-1) ?? null;
  const data = (job?.data ?? task?.input_data ?? {}) as Record<string, unknown>;
  const workspaceId = task ? task.workspace_id : typeof data.workspace_id === 'string' ? data.workspace_id : null;
  const taskType = task?.task_type ?? (queue && job ? findJob(queue, job.name)?.taskType : undefined);
  if (!canSeeTask(access, { workspace_id: workspaceId, task_type: taskType })) {
    throw notFound(`no task or job with id ${id}`);
  }

  return {
    task,
    attempts: byRow && !byRow.job_id ? [byRow] : attempts,
    queue: queue ?? '',
    jobId: jobId ?? '',
    auditJobId: auditId ?? '',
    job: job ? await jobInfo(job) : null,
    payload: job?.data ?? task?.input_data ?? null,
  };
}

export async function jobInfo(job: Job): Promise<JobInfo> {
  return {
    queue: job.queueName,
    id: String(job.id),
    name: job.name,
    state: await job.getState(),
    attemptsStarted: job.attemptsStarted,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    failedReason: job.failedReason || null,
    progress: job.progress,
    delayMs: job.delay ?? 0,
    priority: job.priority ?? 0,
    createdAt: new Date(job.timestamp),
    processedAt: job.processedOn ? new Date(job.processedOn) : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
    processedBy: job.processedBy ?? null,
  };
}

/** The catalog job name of a task type on a queue (for re-enqueueing a task whose job is gone). */
export function jobNameForTaskType(queue: string, taskType: string): string | undefined {
  if (!isQueueName(queue)) return undefined;
  return jobsOf(queue).find(([, def]) => def.taskType === taskType)?.[0];
}
