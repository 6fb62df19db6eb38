import { TASK_STATUSES, TASK_TYPES, type Task } from '@fleet/db';
import type { DashboardStats, QueueCounts, TaskPage } from '@fleet/ops';
import { barList, columnChart, queueChart } from './charts.ts';
import { age, count, duration, pct, time, usd } from './format.ts';
import { type Html, html, raw } from './html.ts';
import { renderShell, type Viewer } from './layout.ts';
import { type Cell, type Column, pager, table, taskLink, type WorkspaceNames, workspaceLabel } from './tables.ts';
import { successTone, TONE_WORD } from './tones.ts';

export interface OverviewView extends Viewer {
  stats: DashboardStats;
  /** Latest attempts of the window, one keyset page (`recent_cursor`). */
  recent: TaskPage;
  /** Failed and partially failed attempts of the window, one keyset page (`failed_cursor`). */
  failed: TaskPage;
  /** Fleet-wide queue counts: operators only (null for a workspace key's session). */
  queues: QueueCounts[] | null;
  workspaces: { id: string; name: string }[];
  /** The page's query string: pagers keep the filters and the other list's cursor. */
  query: URLSearchParams;
  refreshSeconds: number;
}

const WINDOWS: [number, string][] = [
  [1, 'last hour'],
  [6, 'last 6 hours'],
  [24, 'last 24 hours'],
  [168, 'last 7 days'],
  [720, 'last 30 days'],
];

function select(name: string, label: string, current: string | undefined, options: [string, string][]): Html {
  return html`<label>${label}
    <select name="${name}" data-testid="filter-${name}">
      ${options.map(([value, text]) => html`<option value="${value}" ${raw(value === (current ?? '') ? 'selected' : '')}>${text}</option>`)}
    </select></label>`;
}

function kpi(id: string, label: string, display: string, value: unknown, tone = '', note?: string): Html {
  return html`<div class="kpi ${tone}" data-testid="kpi-box-${id}"><span class="kpi-label">${label}</span>
    <span class="kpi-value" data-testid="kpi-${id}" data-value="${value === null ? '' : String(value)}">${display}</span>
    ${note ? html`<span class="kpi-note">${note}</span>` : ''}</div>`;
}

export function statusBadge(status: string): Html {
  return html`<span class="badge s-${status}">${status}</span>`;
}

function names(v: OverviewView): WorkspaceNames {
  return new Map(v.workspaces.map((w) => [w.id, w.name]));
}

/** The live queue counts (operators only: they are fleet-wide). */
function queuesCard(queues: QueueCounts[] | null): Html | '' {
  if (!queues) return '';
  return html`<article class="card wide"><h2>Queues</h2>
    ${queueChart({
      title: 'Jobs per queue and state (log scale)',
      queues: queues.map((q) => ({
        queue: q.queue,
        paused: q.isPaused,
        lanes: [
          { state: 'waiting', className: 'c-queue', value: q.waiting + q.prioritized },
          { state: 'active', className: 'c-active', value: q.active },
          { state: 'delayed', className: 'c-delayed', value: q.delayed },
        ],
      })),
    })}
    ${table({
      testid: 'queues',
      columns: [
        { label: 'Queue' },
        { label: 'Waiting', num: true },
        { label: 'Active', num: true },
        { label: 'Delayed', num: true },
        { label: 'Failed', num: true },
        { label: 'Oldest waiting', num: true },
      ],
      rows: queues.map((q) => ({
        data: { queue: q.queue },
        cells: [
          html`${q.queue}${q.isPaused ? html` <span class="badge s-failed">paused</span>` : ''}`,
          count(q.waiting + q.prioritized),
          count(q.active),
          count(q.delayed),
          count(q.failed),
          age(q.oldestWaitingMs),
        ],
      })),
    })}
  </article>`;
}

function taskRows(rows: Task[], ws: WorkspaceNames) {
  return rows.map((r) => ({
    data: { id: r.id },
    cells: [
      r.task_type,
      statusBadge(r.status),
      time(r.executed_at),
      workspaceLabel(r.workspace_id, ws),
      duration(r.duration_ms),
      usd(r.cost_estimate_usd),
      r.attempt ?? '–',
      taskLink({ id: r.id, jobId: r.job_id }),
    ],
  }));
}

const TASK_COLUMNS: Column[] = [
  { label: 'Task type' },
  { label: 'Status' },
  { label: 'Started', wide: true },
  { label: 'Workspace' },
  { label: 'Duration', num: true },
  { label: 'Cost', num: true },
  { label: 'Attempt', num: true },
  { label: 'Job' },
];

/** The part of the page that refreshes itself. */
export function renderOverviewContent(v: OverviewView): Html {
  const { stats: s } = v;
  const t = s.totals;
  const ws = names(v);
  const perHour = s.throughputBucket === 'hour';
  const buckets = s.throughput.map((r) =>
    perHour ? `${r.at.toISOString().slice(11, 13)}h` : r.at.toISOString().slice(5, 10),
  );
  const tone = successTone(t.successRate);
  return html`
  <section class="kpis" aria-label="Totals">
    ${kpi('total', 'Executions', count(t.total), t.total)}
    ${kpi('success-rate', 'Success rate', pct(t.successRate), t.successRate, `tone-${tone}`, TONE_WORD[tone])}
    ${kpi('failure-rate', 'Failure rate', pct(t.failureRate), t.failureRate, `tone-${tone}`)}
    ${kpi('avg-duration', 'Average duration', duration(t.avgDurationMs), t.avgDurationMs)}
    ${kpi('p95-duration', 'p95 duration', duration(t.p95DurationMs), t.p95DurationMs)}
    ${kpi('cost', 'Cost', usd(t.costUsd), t.costUsd)}
    ${kpi('running', 'Running', count(t.running), t.running)}
    ${kpi('stuck', 'Stuck running', count(s.stuck.length), s.stuck.length, s.stuck.length > 0 ? 'tone-bad' : '')}
  </section>

  <section class="grid">
    <article class="card wide"><h2>Throughput per ${perHour ? 'hour' : 'day'} (UTC)</h2>
      ${columnChart({
        id: 'throughput',
        title: perHour ? 'Finished attempts per hour' : 'Finished attempts per day',
        labels: buckets,
        series: [
          { name: 'completed', className: 'c-ok', values: s.throughput.map((r) => r.completed) },
          { name: 'failed', className: 'c-bad', values: s.throughput.map((r) => r.failed) },
        ],
      })}
    </article>
    <article class="card"><h2>Cost by day</h2>
      ${columnChart({
        id: 'cost-by-day',
        title: 'Cost per day (USD)',
        labels: s.costByDay.map((d) => d.day.slice(5)),
        series: [{ name: 'cost', className: 'c-cost', values: s.costByDay.map((d) => Number(d.costUsd)) }],
        unit: ' USD',
      })}
    </article>
    <article class="card"><h2>Cost by task type</h2>
      ${barList({
        id: 'cost-by-type',
        title: 'Cost per task type',
        className: 'c-cost',
        rows: s.byType.map((r) => ({ label: r.taskType, value: Number(r.costUsd), display: usd(r.costUsd) })),
      })}
    </article>
    ${queuesCard(v.queues)}
  </section>

  <section class="card"><h2>By task type</h2>
    ${table({
      testid: 'by-type',
      columns: [
        { label: 'Task type' },
        { label: 'Runs', num: true },
        { label: 'Completed', num: true },
        { label: 'Failed', num: true },
        { label: 'Success', num: true },
        { label: 'Avg', num: true },
        { label: 'p95', num: true },
        { label: 'Cost', num: true },
      ],
      rows: s.byType.map((r) => {
        const rate = r.completed + r.failed ? r.completed / (r.completed + r.failed) : null;
        const cells: Cell[] = [
          r.taskType,
          { v: count(r.total), data: { col: 'total' } },
          count(r.completed),
          { v: count(r.failed), data: { col: 'failed' } },
          {
            v: html`<span class="rate tone-${successTone(rate)}">${pct(rate)}</span>`,
            data: { col: 'success', value: rate === null ? '' : String(rate) },
          },
          duration(r.avgDurationMs),
          duration(r.p95DurationMs),
          { v: usd(r.costUsd), data: { col: 'cost', value: r.costUsd } },
        ];
        return { data: { 'task-type': r.taskType }, cells };
      }),
    })}
  </section>

  <section class="grid">
    <article class="card"><h2>Failed tasks</h2>
      ${
        v.failed.tasks.length === 0
          ? html`<p class="empty">No failures in this window.</p>`
          : html`<ul class="failures" data-testid="failures">${v.failed.tasks.map(
              (f) => html`<li data-id="${f.id}"><div>${statusBadge(f.status)} <b>${f.task_type}</b>
                <span class="muted">${time(f.executed_at)} · ${workspaceLabel(f.workspace_id, ws)} · job ${taskLink({ id: f.id, jobId: f.job_id })}</span></div>
                <code>${f.error_message ?? '(no message)'}</code></li>`,
            )}</ul>`
      }
      ${pager({ path: '/dashboard', query: v.query, param: 'failed_cursor', next: v.failed.nextCursor, testid: 'failed-pager' })}
    </article>
    <article class="card"><h2>Stuck running</h2>
      ${
        s.stuck.length === 0
          ? html`<p class="empty">No rows running longer than ${s.filters.stuck_minutes} minutes.</p>`
          : table({
              testid: 'stuck',
              columns: [
                { label: 'Task type' },
                { label: 'Workspace' },
                { label: 'Queue' },
                { label: 'Started' },
                { label: 'Job' },
              ],
              rows: s.stuck.map((r) => ({
                cells: [
                  r.taskType,
                  workspaceLabel(r.workspaceId, ws),
                  r.queueName ?? '–',
                  time(r.executedAt),
                  taskLink({ id: r.id, jobId: r.jobId }),
                ],
              })),
            })
      }
    </article>
  </section>

  <section class="card"><h2>Recent executions</h2>
    ${table({ testid: 'recent', columns: TASK_COLUMNS, rows: taskRows(v.recent.tasks, ws) })}
    ${pager({ path: '/dashboard', query: v.query, param: 'recent_cursor', next: v.recent.nextCursor, testid: 'recent-pager' })}
  </section>
  <p class="muted small">Updated ${time(s.generatedAt)} · refreshes every ${v.refreshSeconds} s</p>`;
}

/** The whole page: filters, content and the refresh script. */
export function renderOverviewPage(v: OverviewView): string {
  const f = v.stats.filters;
  const filters = html`<form class="filters" method="get" action="/dashboard" data-testid="filters">
    ${select('workspace_id', 'Workspace', f.workspace_id, [
      ['', v.isAdmin ? 'All workspaces' : 'All my workspaces'],
      ...v.workspaces.map((w): [string, string] => [w.id, w.name]),
    ])}
    ${select('task_type', 'Task type', f.task_type, [['', 'All types'], ...TASK_TYPES.map((t): [string, string] => [t, t])])}
    ${select('status', 'Status', f.status, [['', 'Any status'], ...TASK_STATUSES.map((t): [string, string] => [t, t])])}
    ${select(
      'hours',
      'Window',
      String(f.hours),
      WINDOWS.map(([h, text]): [string, string] => [String(h), text]),
    )}
    <label>Job or task id <input name="job" type="search" placeholder="open a job's page" autocomplete="off" data-testid="filter-job"></label>
    <button type="submit" data-testid="apply">Apply</button>
  </form>`;
  const body = html`${filters}
<div id="content" data-src="/dashboard/content" data-refresh="${v.refreshSeconds}">${renderOverviewContent(v)}</div>`;
  return renderShell({ ...v, title: 'Dashboard', body });
}
