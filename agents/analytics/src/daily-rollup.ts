/**
 * daily_analytics_rollup: one workspace, one local day, upserted into daily_analytics. Running a
 * day again recomputes it from the source tables, so it is idempotent and picks up late data.
 */
import type { Database, JsonObject } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { type Kysely, sql } from 'kysely';
import { countMetrics, type DailyMetrics } from './daily-metrics.ts';
import { addDays, type Day } from './periods.ts';
import { contactMetrics, emailMetrics, fleetMetrics, insightMetrics } from './rollup-queries.ts';
import { dayWindow, loadWorkspaceClock, type WorkspaceClock } from './workspace-clock.ts';

export interface RollupResult {
  metrics: DailyMetrics;
  totalMetrics: number;
}

/** Computes and stores the metrics of `day` (a local day of the workspace). */
export async function rollupDay(
  db: Kysely<Database>,
  clock: WorkspaceClock,
  day: Day,
  now: Date = new Date(),
): Promise<RollupResult> {
  if (day > clock.today) {
    throw new PermanentError(
      `date ${day} is in the future for this workspace (today is ${clock.today} in ${clock.timezone})`,
    );
  }
  const window = await dayWindow(db, clock.timezone, day);
  const w = { workspaceId: clock.workspaceId, start: window.start, end: window.end };

  const metrics = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const emails = await emailMetrics(trx, w);
      const contacts = await contactMetrics(trx, w);
      const insights = await insightMetrics(trx, w);
      const fleet = await fleetMetrics(trx, w);
      const m: DailyMetrics = {
        day,
        timezone: clock.timezone,
        window: {
          start: window.start.toISOString(),
          end: window.end.toISOString(),
          hours: (window.end.getTime() - window.start.getTime()) / 3_600_000,
        },
        complete: now.getTime() >= window.end.getTime(),
        emails,
        contacts,
        insights,
        fleet,
      };
      await sql`
        INSERT INTO daily_analytics (workspace_id, day, metrics, computed_at)
        VALUES (${clock.workspaceId}, ${day}, ${JSON.stringify(m)}::jsonb, ${now})
        ON CONFLICT (workspace_id, day) DO UPDATE SET metrics = EXCLUDED.metrics, computed_at = EXCLUDED.computed_at
      `.execute(trx);
      return m;
    });
  return { metrics, totalMetrics: countMetrics(metrics) };
}

export interface DailyRollupOutcome {
  output: JsonObject;
}

/** The job: `date` or, by default, yesterday in the workspace's time zone. */
export async function runDailyRollup(
  db: Kysely<Database>,
  input: { workspaceId: string; date?: Day },
  now: Date = new Date(),
): Promise<DailyRollupOutcome> {
  const clock = await loadWorkspaceClock(db, input.workspaceId, now);
  const day = input.date ?? addDays(clock.today, -1);
  const { metrics, totalMetrics } = await rollupDay(db, clock, day, now);
  return {
    output: {
      day,
      timezone: clock.timezone,
      complete: metrics.complete,
      total_metrics: totalMetrics,
      days: 1,
      emails_received: metrics.emails.received,
      emails_sent: metrics.emails.sent,
      new_contacts: metrics.contacts.new,
      insights: metrics.insights.total,
      fleet_executions: metrics.fleet.executions,
    },
  };
}
