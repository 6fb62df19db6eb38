import { TASK_STATUSES, TASK_TYPES, type Task } from '@fleet/db';
import type { DashboardStats, QueueCounts } from '@fleet/ops';
import { barChart, hbarChart } from './charts.ts';
import { age, count, duration, pct, shortId, time, usd } from './format.ts';
import { type Html, html, raw } from './html.ts';

export interface DashboardView {
  stats: DashboardStats;
  recent: Task[];
  /** Fleet-wide queue counts: operators only (null for a workspace key's session). */
  queues: QueueCounts[] | null;
  workspaces: { id: string; name: string }[];
  principalName: string;
  isAdmin: boolean;
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

function kpi(id: string, label: string, display: string, value: unknown, tone = ''): Html {
  return html`<div class="kpi ${tone}"><span class="kpi-label">${label}</span>
    <span class="kpi-value" data-testid="kpi-${id}" data-value="${value === null ? '' : String(value)}">${display}</span></div>`;
}

function statusBadge(status: string): Html {
  return html`<span class="badge s-${status}">${status}</span>`;
}

/** The part of the page that refreshes itself. */
export function renderContent(v: DashboardView): Html {
  const { stats: s } = v;
  const t = s.totals;
  const perHour = s.throughputBucket === 'hour';
  const buckets = s.throughput.map((r) =>
    perHour ? `${r.at.toISOString().slice(11, 13)}h` : r.at.toISOString().slice(5, 10),
  );
  return html`
  <section class="kpis" aria-label="Totals">
    ${kpi('total', 'Executions', count(t.total), t.total)}
    ${kpi('success-rate', 'Success rate', pct(t.successRate), t.successRate, 'good')}
    ${kpi('failure-rate', 'Failure rate', pct(t.failureRate), t.failureRate, t.failed > 0 ? 'bad' : '')}
    ${kpi('avg-duration', 'Average duration', duration(t.avgDurationMs), t.avgDurationMs)}
    ${kpi('p95-duration', 'p95 duration', duration(t.p95DurationMs), t.p95DurationMs)}
    ${kpi('cost', 'Cost', usd(t.costUsd), t.costUsd)}
    ${kpi('running', 'Running', count(t.running), t.running)}
    ${kpi('stuck', 'Stuck running', count(s.stuck.length), s.stuck.length, s.stuck.length > 0 ? 'bad' : '')}
  </section>

  <section class="grid">
    <article class="card wide"><h2>Throughput per ${perHour ? 'hour' : 'day'} (UTC)</h2>
      ${barChart({
        title: perHour ? 'Finished attempts per hour' : 'Finished attempts per day',
        width: 1200,
        labels: buckets,
        series: [
          { name: 'completed', className: 'c-ok', values: s.throughput.map((r) => r.completed) },
          { name: 'failed', className: 'c-bad', values: s.throughput.map((r) => r.failed) },
        ],
      })}
    </article>
    <article class="card"><h2>Cost by day</h2>
      ${barChart({
        title: 'Cost per day (USD)',
        labels: s.costByDay.map((d) => d.day.slice(5)),
        series: [{ name: 'cost', className: 'c-cost', values: s.costByDay.map((d) => Number(d.costUsd)) }],
        unit: ' USD',
      })}
    </article>
    <article class="card"><h2>Cost by task type</h2>
      ${hbarChart({
        title: 'Cost per task type',
        className: 'c-cost',
        rows: s.byType.map((r) => ({ label: r.taskType, value: Number(r.costUsd), display: usd(r.costUsd) })),
      })}
    </article>
    ${queuesCard(v.queues)}
  </section>

  <section class="card"><h2>By task type</h2>
    <div class="table-wrap"><table data-testid="by-type">
      <thead><tr><th>Task type</th><th class="num">Runs</th><th class="num">Completed</th><th class="num">Failed</th><th class="num">Success</th><th class="num">Avg</th><th class="num">p95</th><th class="num">Cost</th></tr></thead>
      <tbody>${s.byType.map(
        (
          r,
        ) => html`<tr data-task-type="${r.taskType}"><td>${r.taskType}</td><td class="num" data-col="total">${count(r.total)}</td>
          <td class="num">${count(r.completed)}</td><td class="num" data-col="failed">${count(r.failed)}</td>
          <td class="num">${pct(r.completed + r.failed ? r.completed / (r.completed + r.failed) : null)}</td>
          <td class="num">${duration(r.avgDurationMs)}</td><td class="num">${duration(r.p95DurationMs)}</td>
          <td class="num" data-col="cost" data-value="${r.costUsd}">${usd(r.costUsd)}</td></tr>`,
      )}</tbody></table></div>
  </section>

  <section class="grid">
    <article class="card"><h2>Failed tasks</h2>
      ${
        s.failures.length === 0
          ? html`<p class="empty">No failures in this window.</p>`
          : html`<ul class="failures" data-testid="failures">${s.failures.map(
              (
                f,
              ) => html`<li><div>${statusBadge(f.status)} <b>${f.taskType}</b> <span class="muted">${time(f.executedAt)} · job ${shortId(f.jobId)}</span></div>
                <code>${f.errorMessage ?? '(no message)'}</code></li>`,
            )}</ul>`
      }
    </article>
    <article class="card"><h2>Stuck running</h2>
      ${
        s.stuck.length === 0
          ? html`<p class="empty">No rows running longer than ${s.filters.stuck_minutes} minutes.</p>`
          : html`<div class="table-wrap"><table data-testid="stuck"><thead><tr><th>Task type</th><th>Queue</th><th>Job</th><th>Started</th></tr></thead>
            <tbody>${s.stuck.map((r) => html`<tr><td>${r.taskType}</td><td>${r.queueName ?? '–'}</td><td>${shortId(r.jobId)}</td><td>${time(r.executedAt)}</td></tr>`)}</tbody></table></div>`
      }
    </article>
  </section>

  <section class="card"><h2>Recent executions</h2>
    <div class="table-wrap"><table data-testid="recent">
      <thead><tr><th>Started</th><th>Task type</th><th>Status</th><th class="num">Duration</th><th class="num">Cost</th><th>Agent</th><th>Job</th><th class="num">Attempt</th></tr></thead>
      <tbody>${v.recent.map(
        (r) => html`<tr><td>${time(r.executed_at)}</td><td>${r.task_type}</td><td>${statusBadge(r.status)}</td>
          <td class="num">${duration(r.duration_ms)}</td><td class="num">${usd(r.cost_estimate_usd)}</td>
          <td>${r.agent_name ?? '–'}</td><td title="${r.job_id ?? ''}">${shortId(r.job_id)}</td><td class="num">${r.attempt ?? '–'}</td></tr>`,
      )}</tbody></table></div>
  </section>
  <p class="muted small">Updated ${time(s.generatedAt)} · refreshes every ${v.refreshSeconds} s</p>`;
}

/** The live queue counts (operators only: they are fleet-wide). */
function queuesCard(queues: QueueCounts[] | null): Html | '' {
  if (!queues) return '';
  return html`    <article class="card wide"><h2>Queues</h2>
      <div class="queue-chart">${hbarChart({
        title: 'Jobs waiting per queue',
        width: 1200,
        className: 'c-queue',
        rows: queues.map((q) => ({
          label: q.queue,
          value: q.waiting + q.prioritized + q.delayed,
          display: `${count(q.waiting + q.prioritized)} waiting · ${count(q.delayed)} delayed`,
        })),
      })}</div>
      <div class="table-wrap"><table data-testid="queues">
        <thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Active</th><th class="num">Delayed</th><th class="num">Failed</th><th class="num">Oldest waiting</th></tr></thead>
        <tbody>${queues.map(
          (
            q,
          ) => html`<tr data-queue="${q.queue}"><td>${q.queue}${q.isPaused ? html` <span class="badge s-failed">paused</span>` : ''}</td>
            <td class="num">${count(q.waiting + q.prioritized)}</td><td class="num">${count(q.active)}</td>
            <td class="num">${count(q.delayed)}</td><td class="num">${count(q.failed)}</td><td class="num">${age(q.oldestWaitingMs)}</td></tr>`,
        )}</tbody></table></div>
    </article>`;
}

/** The whole page: filters, content and the refresh script. */
export function renderPage(v: DashboardView): string {
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
    <button type="submit" data-testid="apply">Apply</button>
  </form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agent fleet · dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/dashboard.js" defer></script>
</head><body>
<header class="top"><h1>Agent fleet</h1>
<nav>${v.isAdmin ? '<a href="/admin/queues/">Queue management</a>' : ''}<a href="/openapi.json">API</a>
<form method="post" action="/dashboard/logout"><button class="link" type="submit">Sign out (${html`${v.principalName}`})</button></form></nav></header>
<main>
${filters}
<div id="content" data-refresh="${v.refreshSeconds}">${renderContent(v)}</div>
</main></body></html>`;
}

export function renderLogin(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agent fleet · sign in</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head><body class="login">
<form method="post" action="/dashboard/login" class="card login-card">
<h1>Agent fleet</h1>
<p class="muted">Sign in with an API key (the admin key, or a workspace key).</p>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<label>API key <input type="password" name="key" autocomplete="current-password" required autofocus data-testid="key"></label>
<button type="submit" data-testid="sign-in">Sign in</button>
</form></body></html>`;
}
