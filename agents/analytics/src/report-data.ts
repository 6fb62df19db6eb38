/**
 * weekly_report_generation and monthly_summary: a period's report built from the daily rollups
 * (missing or partial days are rolled up first), compared with the previous period, stored as
 * JSON plus Markdown in analytics_reports (one row per workspace, kind and period; regenerating
 * replaces it).
 */
import type { Database, JsonObject } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { DailyMetrics } from './daily-metrics.ts';
import { rollupDay } from './daily-rollup.ts';
import { busiestDays, costlyTaskTypes, failureHotSpots, periodDeltas, periodTotals } from './period-totals.ts';
import {
  type Day,
  daysBetween,
  isoWeekday,
  lastCompleteMonth,
  lastCompleteWeek,
  monthPeriod,
  type Period,
  previousPeriod,
  weekPeriod,
} from './periods.ts';
import { renderReportMarkdown } from './report-markdown.ts';
import type { ReportData } from './report-types.ts';
import { topScoreMovers } from './score-movers.ts';
import { dayWindow, loadWorkspaceClock, type WorkspaceClock } from './workspace-clock.ts';

export type ReportRequest =
  | { workspaceId: string; kind: 'weekly'; weekStart?: Day }
  | { workspaceId: string; kind: 'monthly'; month?: string };

export async function runReport(
  db: Kysely<Database>,
  log: Logger,
  request: ReportRequest,
  now: Date = new Date(),
): Promise<{ output: JsonObject }> {
  const clock = await loadWorkspaceClock(db, request.workspaceId, now);
  const period = choosePeriod(request, clock.today);
  if (period.start > clock.today) {
    throw new PermanentError(`${period.label} has not started yet in ${clock.timezone} (today is ${clock.today})`);
  }
  const previous = previousPeriod(period);

  const backfilled = await ensureRollups(db, clock, daysBetween(previous.start, period.end), now);
  const rows = await db
    .selectFrom('daily_analytics')
    .select(['day', 'metrics'])
    .where('workspace_id', '=', clock.workspaceId)
    .where('day', '>=', previous.start)
    .where('day', '<=', period.end)
    .execute();
  const days = rows.map((r) => r.metrics as unknown as DailyMetrics);
  const current = days.filter((d) => d.day >= period.start);
  const before = days.filter((d) => d.day < period.start);

  const totals = periodTotals(current);
  const previousTotals = periodTotals(before);
  const [start, end] = await Promise.all([
    dayWindow(db, clock.timezone, period.start),
    dayWindow(db, clock.timezone, period.end),
  ]);
  const data: ReportData = {
    kind: period.kind,
    timezone: clock.timezone,
    period,
    previous_period: previous,
    complete: period.end < clock.today,
    totals,
    previous_totals: previousTotals,
    deltas: periodDeltas(totals, previousTotals),
    highlights: {
      top_score_changes: await topScoreMovers(db, clock.workspaceId, start.start, end.end),
      busiest_days: busiestDays(current),
      costly_task_types: costlyTaskTypes(totals),
      failure_hot_spots: failureHotSpots(totals),
    },
    generated_at: now.toISOString(),
  };
  const markdown = renderReportMarkdown(data);

  const { rows: saved } = await sql<{ id: string }>`
    INSERT INTO analytics_reports (workspace_id, kind, period_start, period_end, data, markdown, updated_at)
    VALUES (${clock.workspaceId}, ${period.kind}, ${period.start}, ${period.end}, ${JSON.stringify(data)}::jsonb, ${markdown}, now())
    ON CONFLICT (workspace_id, kind, period_start)
    DO UPDATE SET period_end = EXCLUDED.period_end, data = EXCLUDED.data, markdown = EXCLUDED.markdown, updated_at = now()
    RETURNING id
  `.execute(db);

  log.info({ workspaceId: clock.workspaceId, period: period.label, backfilled }, 'report written');
  return {
    output: {
      report_id: saved[0]!.id,
      kind: period.kind,
      period: period.label,
      period_start: period.start,
      period_end: period.end,
      previous_period_start: previous.start,
      complete: data.complete,
      days: current.length,
      days_backfilled: backfilled,
      total_metrics: Object.keys(data.deltas).length,
      highlights: Object.values(data.highlights).reduce((n, list) => n + list.length, 0),
    },
  };
}

function choosePeriod(request: ReportRequest, today: Day): Period {
  if (request.kind === 'weekly') {
    if (!request.weekStart) return lastCompleteWeek(today);
    if (isoWeekday(request.weekStart) !== 1) {
      throw new PermanentError(`week_start ${request.weekStart} is not a Monday; weeks run Monday to Sunday`);
    }
    return weekPeriod(request.weekStart);
  }
  return request.month ? monthPeriod(request.month) : lastCompleteMonth(today);
}

/**
 * Rolls up every day of `days` (up to today) that has no rollup or one computed before the day
 * was over; returns how many it rolled up.
 */
async function ensureRollups(db: Kysely<Database>, clock: WorkspaceClock, days: Day[], now: Date): Promise<number> {
  const wanted = days.filter((d) => d <= clock.today);
  if (wanted.length === 0) return 0;
  const have = await db
    .selectFrom('daily_analytics')
    .select('day')
    .where('workspace_id', '=', clock.workspaceId)
    .where('day', '>=', wanted[0]!)
    .where('day', '<=', wanted[wanted.length - 1]!)
    .where(sql<boolean>`(metrics ->> 'complete')::boolean`)
    .execute();
  const done = new Set(have.map((r) => r.day));
  let rolled = 0;
  for (const day of wanted) {
    if (done.has(day)) continue;
    await rollupDay(db, clock, day, now);
    rolled += 1;
  }
  return rolled;
}
