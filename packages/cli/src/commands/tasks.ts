import type { Task } from '@fleet/db';
import { getTask, listTasks, presentDetail, presentTaskPage, type TaskDetail, type TaskFiltersInput } from '@fleet/ops';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../context.ts';
import { formatRecord, formatTable } from '../output/table.ts';
import { formatDuration, formatTime, formatUsd, parseDuration } from '../output/values.ts';
import { withOps } from './ops-context.ts';

/** `--since 2h` (relative) or `--since 2026-01-31T12:00:00Z` (absolute) → an ISO instant. */
export function parseSince(value: string, now = Date.now()): string {
  const relative = parseDuration(value);
  if (relative !== undefined && /[a-z]$/i.test(value.trim())) return new Date(now - relative).toISOString();
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      'use a duration back from now (30m, 24h, 7d) or an ISO time (2026-01-31T12:00:00Z).',
    );
  }
  return date.toISOString();
}

function limitOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError('must be a whole number, 1 to 500.');
  return n;
}

function taskTable(tasks: Task[]): string {
  return formatTable(tasks, [
    { header: 'CREATED', value: (t) => formatTime(t.created_at) },
    { header: 'ID', value: (t) => t.id },
    { header: 'TASK TYPE', value: (t) => t.task_type },
    { header: 'STATUS', value: (t) => t.status },
    { header: 'ATT', value: (t) => t.attempt, align: 'right' },
    { header: 'DURATION', value: (t) => formatDuration(t.duration_ms), align: 'right' },
    { header: 'COST', value: (t) => formatUsd(t.cost_estimate_usd), align: 'right' },
    { header: 'WORKSPACE', value: (t) => t.workspace_id },
    { header: 'JOB', value: (t) => t.job_id, maxWidth: 36 },
    { header: 'ERROR', value: (t) => t.error_message, maxWidth: 60 },
  ]);
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

export function formatTaskDetail(detail: TaskDetail): string {
  const t = detail.task;
  const head = formatRecord([
    ['task', t?.id ?? '(no audit row yet)'],
    ['queue', detail.queue],
    ['job', detail.jobId],
    ['task type', t?.task_type],
    ['status', t?.status],
    ['attempt', t?.attempt],
    ['agent', t?.agent_name],
    ['workspace', t?.workspace_id],
    ['triggered by', t?.triggered_by],
    ['executed at', formatTime(t?.executed_at)],
    ['completed at', formatTime(t?.completed_at)],
    ['duration', formatDuration(t?.duration_ms)],
    ['cost', formatUsd(t?.cost_estimate_usd)],
    [
      'job state',
      detail.job
        ? `${detail.job.state} (attempts ${detail.job.attemptsStarted}/${detail.job.maxAttempts})`
        : 'not in Redis (finished and trimmed, or never enqueued)',
    ],
  ]);
  const parts = [head];
  if (t?.error_message) parts.push(`\nerror:\n  ${t.error_message.split('\n').join('\n  ')}`);
  parts.push(`\ninput:\n${json(detail.payload ?? t?.input_data ?? {})}`);
  if (t) parts.push(`\noutput:\n${json(t.output_data)}`);
  if (detail.attempts.length > 1) {
    parts.push(
      `\nattempts:\n${formatTable(detail.attempts, [
        { header: 'ATT', value: (a) => a.attempt, align: 'right' },
        { header: 'ID', value: (a) => a.id },
        { header: 'STATUS', value: (a) => a.status },
        { header: 'EXECUTED', value: (a) => formatTime(a.executed_at) },
        { header: 'DURATION', value: (a) => formatDuration(a.duration_ms), align: 'right' },
        { header: 'ERROR', value: (a) => a.error_message, maxWidth: 60 },
      ])}`,
    );
  }
  return `${parts.join('\n')}\n`;
}

interface TasksFlags {
  workspace?: string;
  type?: string;
  status?: string;
  queue?: string;
  job?: string;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
}

export function registerTasks(program: Command, ctx: () => CliContext): void {
  program
    .command('tasks')
    .description('List audit rows (autonomous_tasks), newest first.')
    .option('-w, --workspace <uuid>', 'only this workspace')
    .option('-t, --type <types>', 'task types, comma-separated (e.g. email_sync,lead_scoring_batch)')
    .option(
      '-s, --status <statuses>',
      'statuses, comma-separated (pending,running,completed,failed,partial_failure,cancelled)',
    )
    .option('-q, --queue <queue>', 'only this queue')
    .option('--job <id>', 'only the attempts of this BullMQ job')
    .option('--since <when>', 'created at or after: 30m, 24h, 7d back, or an ISO time', (v) => parseSince(v))
    .option('--until <when>', 'created before: a duration back from now or an ISO time', (v) => parseSince(v))
    .option('-n, --limit <n>', 'rows per page, 1 to 500', limitOption, 50)
    .option('--cursor <cursor>', 'the next page, as printed after a full page')
    .option('--json', 'print {tasks, next_cursor} as JSON (as GET /v1/tasks)')
    .addHelpText(
      'after',
      `
Examples:
  $ fleet tasks --status failed,partial_failure --since 24h
  $ fleet tasks --workspace 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f --type email_sync -n 20
  $ fleet tasks --json | jq -r '.tasks[].id'`,
    )
    .action(async (opts: TasksFlags) => {
      const c = ctx();
      const filters: TaskFiltersInput = {
        limit: opts.limit,
        ...(opts.workspace ? { workspace_id: opts.workspace } : {}),
        ...(opts.type ? { task_type: opts.type as never } : {}),
        ...(opts.status ? { status: opts.status as never } : {}),
        ...(opts.queue ? { queue: opts.queue } : {}),
        ...(opts.job ? { job_id: opts.job } : {}),
        ...(opts.since ? { since: opts.since as never } : {}),
        ...(opts.until ? { until: opts.until as never } : {}),
        ...(opts.cursor ? { cursor: opts.cursor } : {}),
      };
      const page = await withOps(c, (ops) => listTasks(ops.db, filters));
      if (opts.json) {
        c.io.stdout(`${json(presentTaskPage(page))}\n`);
        return;
      }
      c.io.stdout(page.tasks.length === 0 ? 'No tasks match.\n' : `${taskTable(page.tasks)}\n`);
      if (page.nextCursor) c.io.stderr(`more: add --cursor ${page.nextCursor}\n`);
    });

  program
    .command('task')
    .description('Show one task (audit row id or BullMQ job id): input, output, error, every attempt, job state.')
    .argument('<id>', 'autonomous_tasks.id, or the job id `fleet enqueue` printed')
    .option('-q, --queue <queue>', 'the queue, when a job id exists on several')
    .option('--json', 'print {task, attempts, queue, job_id, job, payload} as JSON (as GET /v1/tasks/{id})')
    .action(async (id: string, opts: { queue?: string; json?: boolean }) => {
      const c = ctx();
      const detail = await withOps(c, (ops) => getTask(ops, id, opts.queue ? { queue: opts.queue } : {}));
      c.io.stdout(opts.json ? `${json(presentDetail(detail))}\n` : formatTaskDetail(detail));
    });
}
