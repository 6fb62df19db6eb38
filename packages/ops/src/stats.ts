import { type Database, TASK_STATUSES, TASK_TYPES } from '@fleet/db';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import { type Access, ADMIN, assertWorkspace, TENANT_TASK_TYPES } from './access.ts';
import { invalidInput } from './errors.ts';
import { wholeNumber } from './filter-values.ts';

/** Filters of the dashboard; the window is on executed_at, like get_autonomous_task_summary. */
export const statsFiltersSchema = z.strictObject({
  workspace_id: z.uuid({ error: 'must be a workspace UUID' }).optional(),
  task_type: z.enum(TASK_TYPES, { error: `must be one of ${TASK_TYPES.join(', ')}` }).optional(),
  status: z.enum(TASK_STATUSES, { error: `must be one of ${TASK_STATUSES.join(', ')}` }).optional(),
  hours: wholeNumber(1, 8784).default(24),
  /** A running row older than this many minutes is listed as stuck. */
  stuck_minutes: wholeNumber(1, 10_080).default(15),
});
export type StatsFilters = z.output<typeof statsFiltersSchema>;
export type StatsFiltersInput = z.input<typeof statsFiltersSchema>;

export interface DashboardStats {
  filters: StatsFilters;
  generatedAt: Date;
  totals: {
    total: number;
    completed: number;
    /** failed + partial_failure */
    failed: number;
    cancelled: number;
    running: number;
    pending: number;
    /** completed / (completed + failed + partial_failure); null when nothing finished. */
    successRate: number | null;
    failureRate: number | null;
    avgDurationMs: number | null;
    p95DurationMs: number | null;
    costUsd: string;
  };
  byType: {
    taskType: string;
    total: number;
    completed: number;
    failed: number;
    avgDurationMs: number | null;
    p95DurationMs: number | null;
    costUsd: string;
  }[];
  /** Cost per UTC day of executed_at, every day of the window, oldest first. */
  costByDay: { day: string; costUsd: string; total: number }[];
  /** Size of a throughput bucket: hours for windows up to 48 hours, days beyond. */
  throughputBucket: 'hour' | 'day';
  /** Finished attempts per bucket of completed_at over the window (UTC), oldest first. */
  throughput: { at: Date; completed: number; failed: number }[];
  /** Rows still `running` long after they started (not windowed). */
  stuck: {
    id: string;
    taskType: string;
    queueName: string | null;
    jobId: string | null;
    executedAt: Date;
    agentName: string | null;
    workspaceId: string | null;
  }[];
  /** The latest failures in the window, with their messages. */
  failures: {
    id: string;
    taskType: string;
    status: string;
    errorMessage: string | null;
    executedAt: Date;
    jobId: string | null;
    queueName: string | null;
    workspaceId: string | null;
  }[];
}

export function parseStatsFilters(raw: unknown): StatsFilters {
  const r = statsFiltersSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const fields = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ field: k, message: 'is not a known filter' }))
      : [{ field: i.path.map(String).join('.') || '(filters)', message: i.message }],
  );
  throw invalidInput(`invalid dashboard filters: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Every figure of the ops dashboard, each from one SQL aggregate over autonomous_tasks. */
export async function dashboardStats(
  db: Kysely<Database>,
  raw: StatsFiltersInput = {},
  access: Access = ADMIN,
): Promise<DashboardStats> {
  const f = parseStatsFilters(raw);
  if (f.workspace_id) assertWorkspace(access, f.workspace_id);
  const scope: RawBuilder<unknown>[] = [];
  if (f.workspace_id) scope.push(sql`workspace_id = ${f.workspace_id}::uuid`);
  else if (access.kind === 'workspaces') scope.push(sql`workspace_id = ANY(${[...access.workspaceIds]}::uuid[])`);
  // A tenant's figures cover the rows of workspace jobs only (see access.ts).
  if (access.kind === 'workspaces') scope.push(sql`task_type = ANY(${[...TENANT_TASK_TYPES]}::text[])`);
  if (f.task_type) scope.push(sql`task_type = ${f.task_type}`);
  const windowed = [...scope, sql`executed_at >= now() - make_interval(hours => ${f.hours})`];
  if (f.status) windowed.push(sql`status = ${f.status}`);
  const where = (parts: RawBuilder<unknown>[]) => (parts.length ? sql.join(parts, sql` AND `) : sql`true`);
  const w = where(windowed);
  const unit = f.hours <= 48 ? 'hour' : 'day';

  const [totals, byType, costByDay, throughput, stuck, failures] = await Promise.all([
    sql<Record<string, unknown>>`
      SELECT count(*) AS total,
        count(*) FILTER (WHERE status = 'completed') AS completed,
        count(*) FILTER (WHERE status IN ('failed', 'partial_failure')) AS failed,
        count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
        count(*) FILTER (WHERE status = 'running') AS running,
        count(*) FILTER (WHERE status = 'pending') AS pending,
        avg(duration_ms) AS avg_ms,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
        coalesce(sum(cost_estimate_usd), 0)::numeric(14, 6)::text AS cost
      FROM autonomous_tasks WHERE ${w}`.execute(db),
    sql<Record<string, unknown>>`
      SELECT task_type, count(*) AS total,
        count(*) FILTER (WHERE status = 'completed') AS completed,
        count(*) FILTER (WHERE status IN ('failed', 'partial_failure')) AS failed,
        avg(duration_ms) AS avg_ms,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
        coalesce(sum(cost_estimate_usd), 0)::numeric(14, 6)::text AS cost
      FROM autonomous_tasks WHERE ${w}
      GROUP BY task_type ORDER BY sum(cost_estimate_usd) DESC, task_type`.execute(db),
    // Every day and every throughput bucket of the window is listed, zeros included, so the
    // charts show gaps as gaps instead of squeezing the bars together.
    sql<Record<string, unknown>>`
      WITH days AS (
        SELECT generate_series(
          date_trunc('day', now() - make_interval(hours => ${f.hours}), 'UTC'),
          date_trunc('day', now(), 'UTC'),
          interval '1 day') AS day
      ), agg AS (
        SELECT date_trunc('day', executed_at, 'UTC') AS day, count(*) AS total,
          coalesce(sum(cost_estimate_usd), 0) AS cost
        FROM autonomous_tasks WHERE ${w} GROUP BY 1
      )
      SELECT to_char(d.day AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, coalesce(a.total, 0) AS total,
        coalesce(a.cost, 0)::numeric(14, 6)::text AS cost
      FROM days d LEFT JOIN agg a USING (day) ORDER BY d.day`.execute(db),
    sql<Record<string, unknown>>`
      WITH buckets AS (
        SELECT generate_series(
          date_trunc(${unit}, now() - make_interval(hours => ${f.hours}), 'UTC'),
          date_trunc(${unit}, now(), 'UTC'),
          ${`1 ${unit}`}::interval) AS bucket
      ), agg AS (
        SELECT date_trunc(${unit}, completed_at, 'UTC') AS bucket,
          count(*) FILTER (WHERE status = 'completed') AS completed,
          count(*) FILTER (WHERE status IN ('failed', 'partial_failure')) AS failed
        FROM autonomous_tasks
        WHERE ${where([...scope, sql`completed_at >= now() - make_interval(hours => ${f.hours})`])}
        GROUP BY 1
      )
      SELECT b.bucket, coalesce(a.completed, 0) AS completed, coalesce(a.failed, 0) AS failed
      FROM buckets b LEFT JOIN agg a USING (bucket) ORDER BY b.bucket`.execute(db),
    sql<Record<string, unknown>>`
      SELECT id, task_type, queue_name, job_id, executed_at, agent_name, workspace_id
      FROM autonomous_tasks
      WHERE ${where([...scope, sql`status = 'running'`, sql`executed_at < now() - make_interval(mins => ${f.stuck_minutes})`])}
      ORDER BY executed_at LIMIT 50`.execute(db),
    sql<Record<string, unknown>>`
      SELECT id, task_type, status, error_message, executed_at, job_id, queue_name, workspace_id
      FROM autonomous_tasks
      WHERE ${where([...windowed, sql`status IN ('failed', 'partial_failure')`])}
      ORDER BY executed_at DESC, id DESC LIMIT 20`.execute(db),
  ]);

  const t = totals.rows[0] ?? {};
  const completed = Number(t.completed ?? 0);
  const failed = Number(t.failed ?? 0);
  const finished = completed + failed;
  return {
    filters: f,
    generatedAt: new Date(),
    totals: {
      total: Number(t.total ?? 0),
      completed,
      failed,
      cancelled: Number(t.cancelled ?? 0),
      running: Number(t.running ?? 0),
      pending: Number(t.pending ?? 0),
      successRate: finished ? completed / finished : null,
      failureRate: finished ? failed / finished : null,
      avgDurationMs: num(t.avg_ms),
      p95DurationMs: num(t.p95_ms),
      costUsd: String(t.cost ?? '0'),
    },
    byType: byType.rows.map((r) => ({
      taskType: String(r.task_type),
      total: Number(r.total),
      completed: Number(r.completed),
      failed: Number(r.failed),
      avgDurationMs: num(r.avg_ms),
      p95DurationMs: num(r.p95_ms),
      costUsd: String(r.cost),
    })),
    costByDay: costByDay.rows.map((r) => ({ day: String(r.day), costUsd: String(r.cost), total: Number(r.total) })),
    throughputBucket: unit,
    throughput: throughput.rows.map((r) => ({
      at: r.bucket as Date,
      completed: Number(r.completed),
      failed: Number(r.failed),
    })),
    stuck: stuck.rows.map((r) => ({
      id: String(r.id),
      taskType: String(r.task_type),
      queueName: (r.queue_name as string | null) ?? null,
      jobId: (r.job_id as string | null) ?? null,
      executedAt: r.executed_at as Date,
      agentName: (r.agent_name as string | null) ?? null,
      workspaceId: (r.workspace_id as string | null) ?? null,
    })),
    failures: failures.rows.map((r) => ({
      id: String(r.id),
      taskType: String(r.task_type),
      status: String(r.status),
      errorMessage: (r.error_message as string | null) ?? null,
      executedAt: r.executed_at as Date,
      jobId: (r.job_id as string | null) ?? null,
      queueName: (r.queue_name as string | null) ?? null,
      workspaceId: (r.workspace_id as string | null) ?? null,
    })),
  };
}
