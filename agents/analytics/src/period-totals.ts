/**
 * A period's figures from its daily rollups, the deltas against the previous period, and the
 * highlights that need nothing but the days. Pure functions over DailyMetrics.
 */
import type { DailyMetrics, TaskTypeMetrics } from './daily-metrics.ts';
import { combineTaskMetrics } from './rollup-queries.ts';

export interface PeriodTotals {
  /** Days with a rollup. */
  days: number;
  emails: {
    received: number;
    sent: number;
    opened: number;
    clicked: number;
    replies_received: number;
    answered: number;
    /** Weighted by the emails answered each day. */
    response_time_avg_minutes: number | null;
  };
  /** Contacts at the end of the period (last day's snapshot) and new ones during it. */
  contacts: {
    new: number;
    total: number;
    scored: number;
    hot: number;
    warm: number;
    cold: number;
    average_score: number | null;
  };
  insights: {
    total: number;
    positive: number;
    neutral: number;
    negative: number;
    high_urgency: number;
    by_intent: Record<string, number>;
  };
  fleet: TaskTypeMetrics & { by_task_type: Record<string, TaskTypeMetrics> };
}

export function periodTotals(days: DailyMetrics[]): PeriodTotals {
  const sorted = [...days].sort((a, b) => a.day.localeCompare(b.day));
  const last = sorted[sorted.length - 1];
  const sum = (f: (d: DailyMetrics) => number) => sorted.reduce((n, d) => n + f(d), 0);

  const answered = sum((d) => d.emails.answered);
  const responseWeighted = sum((d) => (d.emails.response_time_avg_minutes ?? 0) * d.emails.answered);

  const byIntent: Record<string, number> = {};
  for (const d of sorted) {
    for (const [intent, n] of Object.entries(d.insights.by_intent)) byIntent[intent] = (byIntent[intent] ?? 0) + n;
  }

  const perType: Record<string, TaskTypeMetrics[]> = {};
  for (const d of sorted) {
    for (const [type, m] of Object.entries(d.fleet.by_task_type)) perType[type] = [...(perType[type] ?? []), m];
  }
  const byTaskType = Object.fromEntries(Object.entries(perType).map(([t, ms]) => [t, combineTaskMetrics(ms)]));

  return {
    days: sorted.length,
    emails: {
      received: sum((d) => d.emails.received),
      sent: sum((d) => d.emails.sent),
      opened: sum((d) => d.emails.opened),
      clicked: sum((d) => d.emails.clicked),
      replies_received: sum((d) => d.emails.replies_received),
      answered,
      response_time_avg_minutes: answered === 0 ? null : round(responseWeighted / answered, 2),
    },
    contacts: {
      new: sum((d) => d.contacts.new),
      total: last?.contacts.total ?? 0,
      scored: last?.contacts.scored ?? 0,
      hot: last?.contacts.by_tier.hot ?? 0,
      warm: last?.contacts.by_tier.warm ?? 0,
      cold: last?.contacts.by_tier.cold ?? 0,
      average_score: last?.contacts.average_score ?? null,
    },
    insights: {
      total: sum((d) => d.insights.total),
      positive: sum((d) => d.insights.by_sentiment.positive),
      neutral: sum((d) => d.insights.by_sentiment.neutral),
      negative: sum((d) => d.insights.by_sentiment.negative),
      high_urgency: sum((d) => d.insights.high_urgency),
      by_intent: byIntent,
    },
    fleet: { ...combineTaskMetrics(Object.values(byTaskType)), by_task_type: byTaskType },
  };
}

export interface Delta {
  current: number | null;
  previous: number | null;
  /** current − previous; null when either is unknown. */
  change: number | null;
  /** Change in percent of previous; null when previous is 0 or unknown. */
  change_pct: number | null;
}

/** The metrics compared period over period, by name. */
const DELTA_METRICS: Record<string, (t: PeriodTotals) => number | null> = {
  emails_received: (t) => t.emails.received,
  emails_sent: (t) => t.emails.sent,
  emails_answered: (t) => t.emails.answered,
  response_time_avg_minutes: (t) => t.emails.response_time_avg_minutes,
  emails_opened: (t) => t.emails.opened,
  replies_received: (t) => t.emails.replies_received,
  new_contacts: (t) => t.contacts.new,
  total_contacts: (t) => t.contacts.total,
  hot_contacts: (t) => t.contacts.hot,
  average_score: (t) => t.contacts.average_score,
  insights: (t) => t.insights.total,
  high_urgency_insights: (t) => t.insights.high_urgency,
  task_executions: (t) => t.fleet.executions,
  task_failures: (t) => t.fleet.failed + t.fleet.partial_failures,
  task_cost_usd: (t) => t.fleet.cost_usd,
  task_avg_duration_ms: (t) => t.fleet.avg_duration_ms,
};

export function periodDeltas(current: PeriodTotals, previous: PeriodTotals): Record<string, Delta> {
  const out: Record<string, Delta> = {};
  for (const [name, pick] of Object.entries(DELTA_METRICS)) {
    const c = pick(current);
    const p = pick(previous);
    const change = c === null || p === null ? null : round(c - p, 6);
    out[name] = {
      current: c,
      previous: p,
      change,
      change_pct: change === null || !p ? null : round((100 * change) / p, 1),
    };
  }
  return out;
}

export interface DayHighlight {
  day: string;
  emails: number;
  received: number;
  sent: number;
}

/** The days with the most email traffic (received + sent), busiest first. */
export function busiestDays(days: DailyMetrics[], limit = 3): DayHighlight[] {
  return days
    .map((d) => ({
      day: d.day,
      emails: d.emails.received + d.emails.sent,
      received: d.emails.received,
      sent: d.emails.sent,
    }))
    .filter((d) => d.emails > 0)
    .sort((a, b) => b.emails - a.emails || a.day.localeCompare(b.day))
    .slice(0, limit);
}

/** Task types by cost, most costly first (only those that cost something). */
export function costlyTaskTypes(totals: PeriodTotals, limit = 3) {
  return Object.entries(totals.fleet.by_task_type)
    .filter(([, m]) => m.cost_usd > 0)
    .sort(([a, x], [b, y]) => y.cost_usd - x.cost_usd || a.localeCompare(b))
    .slice(0, limit)
    .map(([task_type, m]) => ({ task_type, cost_usd: m.cost_usd, executions: m.executions }));
}

/** Task types that failed (failed or partial_failure), most failures first, with their rate. */
export function failureHotSpots(totals: PeriodTotals, limit = 3) {
  return Object.entries(totals.fleet.by_task_type)
    .map(([task_type, m]) => ({
      task_type,
      failures: m.failed + m.partial_failures,
      executions: m.executions,
      failure_rate: m.executions === 0 ? 0 : round((m.failed + m.partial_failures) / m.executions, 4),
    }))
    .filter((h) => h.failures > 0)
    .sort(
      (a, b) => b.failures - a.failures || b.failure_rate - a.failure_rate || a.task_type.localeCompare(b.task_type),
    )
    .slice(0, limit);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
