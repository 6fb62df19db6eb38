/**
 * The reads behind one day's rollup, one statement per area, each over the day's window
 * [start, end). They run in one REPEATABLE READ transaction, so the areas agree with each other.
 */
import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import type { DailyMetrics, TaskTypeMetrics } from './daily-metrics.ts';

interface Window {
  workspaceId: string;
  start: Date;
  end: Date;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));
const round = (v: number | null, digits = 2): number | null =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;

export async function emailMetrics(db: Kysely<Database>, w: Window): Promise<DailyMetrics['emails']> {
  const { rows } = await sql<{
    received: number;
    sent: number;
    opened: number;
    clicked: number;
    replies_received: number;
    active_contacts: number;
    threads: number;
  }>`
    SELECT count(*) FILTER (WHERE direction = 'inbound')::int AS received,
           count(*) FILTER (WHERE direction = 'outbound')::int AS sent,
           count(*) FILTER (WHERE direction = 'outbound' AND opened_at IS NOT NULL)::int AS opened,
           count(*) FILTER (WHERE direction = 'outbound' AND clicked_at IS NOT NULL)::int AS clicked,
           count(*) FILTER (WHERE direction = 'outbound' AND replied_at IS NOT NULL)::int AS replies_received,
           count(DISTINCT contact_id)::int AS active_contacts,
           count(DISTINCT thread_id)::int AS threads
      FROM emails
     WHERE workspace_id = ${w.workspaceId} AND sent_at >= ${w.start} AND sent_at < ${w.end}
  `.execute(db);
  // Our first answer to each email received that day: a later outbound email in its thread, or
  // one whose In-Reply-To names it (indexes from migration 052).
  const response = await sql<{ answered: number; avg_s: string | null; median_s: number | null }>`
    SELECT count(r.first_reply)::int AS answered,
           avg(extract(epoch FROM r.first_reply - i.sent_at)) AS avg_s,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.first_reply - i.sent_at)) AS median_s
      FROM emails i
      CROSS JOIN LATERAL (
        SELECT min(o.sent_at) AS first_reply
          FROM emails o
         WHERE o.workspace_id = i.workspace_id
           AND o.direction = 'outbound'
           AND o.sent_at > i.sent_at
           AND ((i.thread_id IS NOT NULL AND o.thread_id = i.thread_id) OR o.in_reply_to = i.provider_message_id)
      ) r
     WHERE i.workspace_id = ${w.workspaceId} AND i.direction = 'inbound'
       AND i.sent_at >= ${w.start} AND i.sent_at < ${w.end}
  `.execute(db);
  const r = response.rows[0]!;
  const e = rows[0]!;
  const avg = num(r.avg_s);
  return {
    received: e.received,
    sent: e.sent,
    opened: e.opened,
    clicked: e.clicked,
    replies_received: e.replies_received,
    answered: r.answered,
    response_time_avg_minutes: round(avg === null ? null : avg / 60),
    response_time_median_minutes: round(r.median_s === null ? null : Number(r.median_s) / 60),
    active_contacts: e.active_contacts,
    threads: e.threads,
  };
}

export async function contactMetrics(db: Kysely<Database>, w: Window): Promise<DailyMetrics['contacts']> {
  const counts = await sql<{ new: number; total: number }>`
    SELECT count(*) FILTER (WHERE created_at >= ${w.start})::int AS new, count(*)::int AS total
      FROM contacts
     WHERE workspace_id = ${w.workspaceId} AND created_at < ${w.end}
  `.execute(db);
  // Tier and score as they stood at the day's end: each contact's last score computed before
  // it. Re-running an old day therefore gives the same snapshot, not today's tiers.
  const tiers = await sql<{ tier: 'hot' | 'warm' | 'cold'; n: number; score_sum: number }>`
    SELECT h.tier, count(*)::int AS n, sum(h.score)::int AS score_sum
      FROM contacts c
      CROSS JOIN LATERAL (
        SELECT tier, score FROM contact_score_history
         WHERE contact_id = c.id AND computed_at < ${w.end}
         ORDER BY computed_at DESC, id DESC
         LIMIT 1
      ) h
     WHERE c.workspace_id = ${w.workspaceId} AND c.created_at < ${w.end}
     GROUP BY h.tier
  `.execute(db);
  const byTier = { hot: 0, warm: 0, cold: 0 };
  let scored = 0;
  let scoreSum = 0;
  for (const t of tiers.rows) {
    if (t.tier in byTier) byTier[t.tier] = t.n;
    scored += t.n;
    scoreSum += t.score_sum;
  }
  const c = counts.rows[0]!;
  return {
    new: c.new,
    total: c.total,
    scored,
    by_tier: byTier,
    average_score: scored === 0 ? null : round(scoreSum / scored),
  };
}

/** Insights of the emails sent that day (by the email's day, so a late extraction still counts). */
export async function insightMetrics(db: Kysely<Database>, w: Window): Promise<DailyMetrics['insights']> {
  const { rows } = await sql<{
    total: number;
    positive: number;
    neutral: number;
    negative: number;
    high_urgency: number;
    mean_sentiment: string | null;
    by_intent: Record<string, number> | null;
  }>`
    WITH day_insights AS (
      SELECT ei.intent, ei.sentiment, ei.sentiment_score, ei.urgency
        FROM email_insights ei
        JOIN emails e ON e.id = ei.email_id
       WHERE e.workspace_id = ${w.workspaceId} AND e.sent_at >= ${w.start} AND e.sent_at < ${w.end}
    )
    SELECT count(*)::int AS total,
           count(*) FILTER (WHERE sentiment = 'positive')::int AS positive,
           count(*) FILTER (WHERE sentiment = 'neutral')::int AS neutral,
           count(*) FILTER (WHERE sentiment = 'negative')::int AS negative,
           count(*) FILTER (WHERE urgency = 'high')::int AS high_urgency,
           avg(coalesce(sentiment_score,
                        CASE sentiment WHEN 'positive' THEN 1 WHEN 'negative' THEN -1 ELSE 0 END)) AS mean_sentiment,
           (SELECT jsonb_object_agg(intent, n)
              FROM (SELECT intent, count(*)::int AS n FROM day_insights GROUP BY intent) x) AS by_intent
      FROM day_insights
  `.execute(db);
  const r = rows[0]!;
  return {
    total: r.total,
    by_sentiment: { positive: r.positive, neutral: r.neutral, negative: r.negative },
    high_urgency: r.high_urgency,
    by_intent: r.by_intent ?? {},
    mean_sentiment: round(num(r.mean_sentiment), 4),
  };
}

/** The fleet's own work for the workspace that day, from the audit trail (read only). */
export async function fleetMetrics(db: Kysely<Database>, w: Window): Promise<DailyMetrics['fleet']> {
  const { rows } = await sql<{
    task_type: string;
    executions: number;
    completed: number;
    failed: number;
    partial_failures: number;
    cancelled: number;
    timed: number;
    avg_duration_ms: string | null;
    cost_usd: string;
  }>`
    SELECT task_type,
           count(*)::int AS executions,
           count(*) FILTER (WHERE status = 'completed')::int AS completed,
           count(*) FILTER (WHERE status = 'failed')::int AS failed,
           count(*) FILTER (WHERE status = 'partial_failure')::int AS partial_failures,
           count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
           count(duration_ms)::int AS timed,
           avg(duration_ms) AS avg_duration_ms,
           coalesce(sum(cost_estimate_usd), 0) AS cost_usd
      FROM autonomous_tasks
     WHERE workspace_id = ${w.workspaceId} AND executed_at >= ${w.start} AND executed_at < ${w.end}
     GROUP BY task_type
     ORDER BY task_type
  `.execute(db);
  const byType: Record<string, TaskTypeMetrics> = {};
  for (const r of rows) {
    byType[r.task_type] = {
      executions: r.executions,
      completed: r.completed,
      failed: r.failed,
      partial_failures: r.partial_failures,
      cancelled: r.cancelled,
      timed: r.timed,
      avg_duration_ms: round(num(r.avg_duration_ms), 1),
      cost_usd: round(Number(r.cost_usd), 6)!,
    };
  }
  return { ...combineTaskMetrics(Object.values(byType)), by_task_type: byType };
}

/** Sums task metrics; the average duration is weighted by the attempts that have one. */
export function combineTaskMetrics(items: TaskTypeMetrics[]): TaskTypeMetrics {
  const total: TaskTypeMetrics = {
    executions: 0,
    completed: 0,
    failed: 0,
    partial_failures: 0,
    cancelled: 0,
    timed: 0,
    avg_duration_ms: null,
    cost_usd: 0,
  };
  let durationSum = 0;
  for (const m of items) {
    total.executions += m.executions;
    total.completed += m.completed;
    total.failed += m.failed;
    total.partial_failures += m.partial_failures;
    total.cancelled += m.cancelled;
    total.timed += m.timed;
    total.cost_usd += m.cost_usd;
    durationSum += (m.avg_duration_ms ?? 0) * m.timed;
  }
  total.avg_duration_ms = total.timed === 0 ? null : round(durationSum / total.timed, 1);
  total.cost_usd = round(total.cost_usd, 6)!;
  return total;
}
