/** The readable rendering of a report's JSON: what a person opens first. */
import type { ReportData } from './report-types.ts';

const LABELS: Record<string, string> = {
  emails_received: 'Emails received',
  emails_sent: 'Emails sent',
  emails_answered: 'Emails answered',
  response_time_avg_minutes: 'Avg response time (min)',
  emails_opened: 'Emails opened',
  replies_received: 'Replies received',
  new_contacts: 'New contacts',
  total_contacts: 'Contacts (end of period)',
  hot_contacts: 'Hot contacts (end of period)',
  average_score: 'Average lead score',
  insights: 'Email insights',
  high_urgency_insights: 'High-urgency insights',
  task_executions: 'Agent task executions',
  task_failures: 'Agent task failures',
  task_cost_usd: 'Agent cost (USD)',
  task_avg_duration_ms: 'Avg task duration (ms)',
};

const fmt = (v: number | null) => (v === null ? '–' : Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2));

function change(current: number | null, previous: number | null, pct: number | null, delta: number | null): string {
  if (delta === null || current === null || previous === null) return '–';
  const sign = delta > 0 ? '+' : '';
  return pct === null ? `${sign}${fmt(delta)}` : `${sign}${fmt(delta)} (${sign}${pct.toFixed(1)}%)`;
}

export function renderReportMarkdown(data: ReportData): string {
  const title = data.kind === 'weekly' ? 'Weekly report' : 'Monthly summary';
  const comparison = data.kind === 'weekly' ? 'week over week' : 'month over month';
  const lines: string[] = [
    `# ${title}: ${data.period.label}`,
    '',
    `${data.period.start} to ${data.period.end} (${data.timezone}), compared ${comparison} with ${data.previous_period.start} to ${data.previous_period.end}.`,
  ];
  if (!data.complete) lines.push('', '_The period is not over yet: figures are partial._');
  lines.push(
    '',
    '## Key metrics',
    '',
    `| Metric | ${data.period.label} | ${data.previous_period.label} | Change |`,
    '|---|---:|---:|---:|',
  );
  for (const [name, d] of Object.entries(data.deltas)) {
    lines.push(
      `| ${LABELS[name] ?? name} | ${fmt(d.current)} | ${fmt(d.previous)} | ${change(d.current, d.previous, d.change_pct, d.change)} |`,
    );
  }

  const h = data.highlights;
  lines.push('', '## Highlights', '');
  lines.push('### Top contacts by score change', '');
  if (h.top_score_changes.length === 0) lines.push('No lead score changed during the period.');
  for (const m of h.top_score_changes) {
    const who = m.name ? `${m.name} <${m.email}>` : m.email;
    const from = m.score_before === null ? 'unscored' : `${m.score_before} (${m.tier_before})`;
    lines.push(`- ${who}: ${from} → ${m.score_after} (${m.tier_after}), ${m.change > 0 ? '+' : ''}${m.change}`);
  }
  lines.push('', '### Busiest days', '');
  if (h.busiest_days.length === 0) lines.push('No email traffic during the period.');
  for (const d of h.busiest_days)
    lines.push(`- ${d.day}: ${d.emails} email${d.emails === 1 ? '' : 's'} (${d.received} received, ${d.sent} sent)`);
  lines.push('', '### Most costly task types', '');
  if (h.costly_task_types.length === 0) lines.push('No agent task had a cost.');
  for (const c of h.costly_task_types) {
    lines.push(`- ${c.task_type}: $${c.cost_usd.toFixed(4)} over ${c.executions} executions`);
  }
  lines.push('', '### Failure hot spots', '');
  if (h.failure_hot_spots.length === 0) lines.push('No agent task failed.');
  for (const f of h.failure_hot_spots) {
    lines.push(
      `- ${f.task_type}: ${f.failures} of ${f.executions} executions failed (${(f.failure_rate * 100).toFixed(1)}%)`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
