import { type Database, TASK_TYPES } from '@fleet/db';
import { presentQueue, presentSummary, type QueueCounts, queueCounts, summary, type TaskTypeSummary } from '@fleet/ops';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Kysely, sql } from 'kysely';
import type { CliContext } from '../context.ts';
import { formatTable } from '../output/table.ts';
import { formatDuration, formatTime, formatUsd } from '../output/values.ts';
import { withOps } from './ops-context.ts';

export interface StatusReport {
  queues: QueueCounts[];
  window: { hours: number; workspaceId: string | null; taskType: string | null };
  taskTypes: TaskTypeSummary[];
}

/**
 * The summary function's columns over every workspace, fleet-level rows included: the operator's
 * view. get_autonomous_task_summary itself is per workspace (and used when one is given).
 */
async function fleetSummary(db: Kysely<Database>, hours: number, taskType: string | null): Promise<TaskTypeSummary[]> {
  const { rows } = await sql<{
    task_type: string;
    total: number;
    ok: number;
    failed: number;
    avg_ms: string | null;
    cost: string;
    last: Date | null;
  }>`
    SELECT task_type,
           count(*)::int AS total,
           count(*) FILTER (WHERE status = 'completed')::int AS ok,
           count(*) FILTER (WHERE status IN ('failed', 'partial_failure'))::int AS failed,
           round(avg(duration_ms)::numeric, 2) AS avg_ms,
           coalesce(sum(cost_estimate_usd), 0)::text AS cost,
           max(executed_at) AS last
    FROM autonomous_tasks
    WHERE executed_at >= now() - make_interval(hours => ${hours}::int)
      AND (${taskType}::text IS NULL OR task_type = ${taskType}::text)
    GROUP BY task_type
    ORDER BY task_type`.execute(db);
  return rows.map((r) => ({
    taskType: r.task_type,
    totalExecutions: r.total,
    successfulExecutions: r.ok,
    failedExecutions: r.failed,
    avgDurationMs: r.avg_ms === null ? null : Number(r.avg_ms),
    totalCostUsd: r.cost,
    lastExecution: r.last,
  }));
}

function hoursOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 8784) throw new InvalidArgumentError('must be whole hours, 1 to 8784.');
  return n;
}

/** `fleet status --json`: the API's shapes of queues and summaries (GET /v1/queues, /v1/summary). */
export function presentStatus(report: StatusReport) {
  return {
    queues: report.queues.map(presentQueue),
    window: {
      hours: report.window.hours,
      workspace_id: report.window.workspaceId,
      task_type: report.window.taskType,
    },
    task_types: report.taskTypes.map(presentSummary),
  };
}

export function formatStatus(report: StatusReport): string {
  const queues = formatTable(report.queues, [
    { header: 'QUEUE', value: (q) => q.queue },
    { header: 'AGENT', value: (q) => q.agent },
    { header: 'WAITING', value: (q) => q.waiting + q.prioritized, align: 'right' },
    { header: 'ACTIVE', value: (q) => q.active, align: 'right' },
    { header: 'DELAYED', value: (q) => q.delayed, align: 'right' },
    { header: 'FAILED', value: (q) => q.failed, align: 'right' },
    { header: 'OLDEST WAITING', value: (q) => formatDuration(q.oldestWaitingMs), align: 'right' },
    { header: 'PAUSED', value: (q) => (q.isPaused ? 'yes' : '') },
  ]);
  const scope = report.window.workspaceId ? `workspace ${report.window.workspaceId}` : 'all workspaces';
  const types =
    report.taskTypes.length === 0
      ? '(no executions in this window)'
      : formatTable(report.taskTypes, [
          { header: 'TASK TYPE', value: (t) => t.taskType },
          { header: 'TOTAL', value: (t) => t.totalExecutions, align: 'right' },
          { header: 'OK', value: (t) => t.successfulExecutions, align: 'right' },
          { header: 'FAILED', value: (t) => t.failedExecutions, align: 'right' },
          { header: 'AVG DURATION', value: (t) => formatDuration(t.avgDurationMs), align: 'right' },
          { header: 'COST', value: (t) => formatUsd(t.totalCostUsd), align: 'right' },
          { header: 'LAST RUN', value: (t) => formatTime(t.lastExecution) },
        ]);
  return `${queues}\n\nTasks in the last ${report.window.hours} h (${scope}):\n${types}\n`;
}

export function registerStatus(program: Command, ctx: () => CliContext): void {
  program
    .command('status')
    .description('Queue depths (waiting/active/delayed/failed, oldest waiting) and per-task-type results.')
    .option('-w, --workspace <uuid>', "one workspace's figures (get_autonomous_task_summary); default: all")
    .addOption(new Option('-t, --type <task_type>', 'only this task type').choices(TASK_TYPES))
    .option('--hours <n>', 'window of the task figures, in hours', hoursOption, 24)
    .option('--json', "print {queues, window, task_types} as JSON (the API's field names)")
    .addHelpText(
      'after',
      `
Columns of the task figures: the summary function's (total, successful, failed incl.
partial_failure, average duration, total cost, last execution).

Examples:
  $ fleet status
  $ fleet status --workspace 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f --hours 168
  $ fleet status --json | jq '.queues[] | select(.waiting > 100)'`,
    )
    .action(async (opts: { workspace?: string; type?: string; hours: number; json?: boolean }) => {
      const c = ctx();
      const report = await withOps(c, async (ops) => {
        const [queues, taskTypes] = await Promise.all([
          queueCounts(ops.producer),
          opts.workspace
            ? summary(ops.db, {
                workspace_id: opts.workspace,
                hours: opts.hours,
                ...(opts.type ? { task_type: opts.type as never } : {}),
              })
            : fleetSummary(ops.db, opts.hours, opts.type ?? null),
        ]);
        return {
          queues,
          window: { hours: opts.hours, workspaceId: opts.workspace ?? null, taskType: opts.type ?? null },
          taskTypes,
        };
      });
      c.io.stdout(opts.json ? `${JSON.stringify(presentStatus(report), null, 2)}\n` : formatStatus(report));
    });
}
