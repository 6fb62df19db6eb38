import type { Task } from '@fleet/db';
import type { TaskDetail } from '@fleet/ops';
import { CSRF_FIELD } from '../csrf.ts';
import { type TimelineLane, timeline } from './charts.ts';
import { duration, time, usd } from './format.ts';
import { type Html, html } from './html.ts';
import { renderShell, type Viewer } from './layout.ts';
import { statusBadge } from './overview.ts';

/** A message above the task, after an action (see noticeFor in routes/dashboard-tasks.ts). */
export interface Notice {
  tone: 'good' | 'warn' | 'bad';
  title: string;
  text: string;
  link?: { href: string; text: string };
}

export interface TaskView extends Viewer {
  detail: TaskDetail;
  workspaceName: string | null;
  /** What the viewer may do now (cancellable / retryable of @fleet/ops, with its access). */
  actions: { cancel: boolean; retry: boolean };
  /** The session's CSRF token; null when the page was not asked for with a dashboard session. */
  csrfToken: string | null;
  /** Whether the viewer may see worker instance ids (operators: they name the fleet's processes). */
  showWorker: boolean;
  notice: Notice | null;
  /** This page's path and its `queue` narrowing, for forms and the refresh. */
  path: string;
  queue: string | undefined;
  refreshSeconds: number;
  now: Date;
}

function field(id: string, label: string, value: Html | string | number, raw?: string, wide = false): Html {
  return html`<div class="field${wide ? ' wide' : ''}"><dt>${label}</dt><dd data-testid="${id}" ${raw === undefined ? '' : html`data-value="${raw}"`}>${value}</dd></div>`;
}

const json = (value: unknown) => JSON.stringify(value ?? null, null, 2);

function withQueue(path: string, queue: string | undefined): string {
  return queue ? `${path}?queue=${encodeURIComponent(queue)}` : path;
}

function actionForms(v: TaskView): Html {
  if (!v.actions.cancel && !v.actions.retry) return html``;
  if (!v.csrfToken) {
    return html`<p class="muted small">Sign in to the dashboard to retry or cancel this task here.</p>`;
  }
  const form = (what: 'retry' | 'cancel', label: string, cls: string) =>
    html`<form method="post" action="${withQueue(`${v.path}/${what}`, v.queue)}" class="action">
      <input type="hidden" name="${CSRF_FIELD}" value="${v.csrfToken}">
      <button type="submit" class="${cls}" data-testid="${what}">${label}</button></form>`;
  return html`<div class="actions" data-testid="actions">
    ${v.actions.retry ? form('retry', 'Retry', '') : ''}
    ${v.actions.cancel ? form('cancel', 'Cancel', 'danger') : ''}</div>`;
}

function workerOf(v: TaskView, a: Task): { text: string; title: string } {
  const job = v.detail.job;
  if (job?.processedBy && a.attempt === job.attemptsStarted)
    return { text: job.processedBy, title: 'BullMQ processedBy' };
  return { text: '–', title: 'BullMQ keeps the worker of the latest attempt only' };
}

function attemptCard(v: TaskView, a: Task): Html {
  const worker = workerOf(v, a);
  const selected = v.detail.task?.id === a.id && v.detail.attempts.length > 1;
  return html`<article class="attempt" data-testid="attempt" data-attempt="${a.attempt ?? ''}" data-id="${a.id}" ${selected ? html`aria-current="true"` : ''}>
    <h3>Attempt ${a.attempt ?? '–'} ${statusBadge(a.status)}</h3>
    <dl class="fields">
      ${field('a-status', 'Status', a.status, a.status)}
      ${field('a-started', 'Started', time(a.executed_at), a.executed_at.toISOString(), true)}
      ${field('a-finished', 'Finished', time(a.completed_at), a.completed_at?.toISOString() ?? '', true)}
      ${field('a-duration', 'Duration', duration(a.duration_ms), a.duration_ms === null ? '' : String(a.duration_ms))}
      ${field('a-cost', 'Cost', usd(a.cost_estimate_usd), a.cost_estimate_usd)}
      ${field('a-agent', 'Agent', a.agent_name ?? '–')}
      ${field('a-triggered', 'Triggered by', a.triggered_by)}
      ${v.showWorker ? field('a-worker', 'Worker', html`<span title="${worker.title}">${worker.text}</span>`, worker.text) : ''}
    </dl>
    ${a.error_message ? html`<div class="error-box"><b>Error</b><code data-testid="a-error">${a.error_message}</code></div>` : ''}
    <details><summary>Input</summary><pre data-testid="a-input">${json(a.input_data)}</pre></details>
    <details ${a.status === 'completed' || a.status === 'partial_failure' ? html`open` : ''}><summary>Output</summary><pre data-testid="a-output">${json(a.output_data)}</pre></details>
  </article>`;
}

function lanes(v: TaskView): TimelineLane[] {
  const { attempts, job } = v.detail;
  const out: TimelineLane[] = [];
  const first = attempts[0];
  if (job && first && job.createdAt < first.executed_at) {
    out.push({
      label: 'queued',
      className: 's-pending',
      start: job.createdAt,
      end: first.executed_at,
      title: `enqueued ${time(job.createdAt)}; first attempt started ${time(first.executed_at)}`,
    });
  }
  for (const a of attempts) {
    const open = a.status === 'running' || a.status === 'pending';
    out.push({
      label: `#${a.attempt ?? '–'} ${a.status}`,
      className: `s-${a.status}`,
      start: a.executed_at,
      end: open ? null : (a.completed_at ?? a.executed_at),
      title: `attempt ${a.attempt ?? '–'}: ${a.status}, ${time(a.executed_at)} – ${time(a.completed_at)} (${duration(a.duration_ms)})`,
      attrs: `data-attempt="${a.attempt ?? ''}"`,
    });
  }
  return out;
}

/** The part of the task page that refreshes itself. */
export function renderTaskContent(v: TaskView): Html {
  const d = v.detail;
  const t = d.task;
  // The job's status is its latest attempt's (the page may be of an earlier attempt's row).
  const latest = d.attempts.at(-1) ?? t;
  const totalMs = d.attempts.reduce((s, a) => s + (a.duration_ms ?? 0), 0);
  const totalCost = d.attempts.reduce((s, a) => s + Number(a.cost_estimate_usd), 0);
  return html`
  ${
    v.notice
      ? html`<section class="card notice ${v.notice.tone}" role="status" data-testid="notice"><b>${v.notice.title}</b> ${v.notice.text}
        ${v.notice.link ? html`<a href="${v.notice.link.href}" data-testid="notice-link">${v.notice.link.text}</a>` : ''}</section>`
      : ''
  }
  <section class="card">
    <h2>${t?.task_type ?? d.job?.name ?? 'job'} ${latest ? statusBadge(latest.status) : ''}</h2>
    <dl class="fields">
      ${field('queue', 'Queue', d.queue)}
      ${field('job-id', 'Job id', html`<code>${d.jobId}</code>`, d.jobId, true)}
      ${field('workspace', 'Workspace', v.workspaceName ?? t?.workspace_id ?? 'fleet', t?.workspace_id ?? '')}
      ${field('state', 'BullMQ state', d.job?.state ?? 'no longer in Redis', d.job?.state ?? '')}
      ${field('attempts', 'Attempts', d.job ? `${d.attempts.length} recorded · ${d.job.attemptsStarted} started of ${d.job.maxAttempts}` : `${d.attempts.length} recorded`, String(d.attempts.length))}
      ${d.job ? field('enqueued', 'Enqueued', time(d.job.createdAt), d.job.createdAt.toISOString(), true) : ''}
      ${field('total-duration', 'Run time, all attempts', duration(totalMs), String(totalMs))}
      ${field('total-cost', 'Cost, all attempts', usd(totalCost), totalCost.toFixed(6))}
      ${v.showWorker ? field('worker', 'Worker (latest attempt)', d.job?.processedBy ?? '–', d.job?.processedBy ?? '', true) : ''}
    </dl>
    ${actionForms(v)}
  </section>
  <section class="card"><h2>Timeline</h2>
    ${timeline({ lanes: lanes(v), now: v.now, title: `Attempts of job ${d.jobId} over time` })}
  </section>
  <section class="attempts" aria-label="Attempts">${d.attempts.map((a) => attemptCard(v, a))}</section>
  <section class="card"><details><summary>Payload of the job</summary><pre data-testid="payload">${json(d.payload)}</pre></details></section>
  <p class="muted small">Updated ${time(v.now)} · refreshes every ${v.refreshSeconds} s</p>`;
}

export function renderTaskPage(v: TaskView): string {
  const body = html`<p class="crumbs"><a href="/dashboard">← Dashboard</a></p>
<div id="content" data-src="${v.path}/content" data-refresh="${v.refreshSeconds}">${renderTaskContent(v)}</div>`;
  return renderShell({ ...v, title: `Task ${v.detail.jobId}`, body });
}
