import { defineAgent } from '@fleet/runtime';
import { runCampaignOptimization } from './campaign/campaign-optimization.ts';
import { runDailyRollup } from './daily-rollup.ts';
import { runReport } from './report-data.ts';

/**
 * analytics_queue worker: daily rollups per workspace, weekly/monthly reports built on them, and
 * campaign optimization over the same emails.
 */
export default defineAgent({
  name: 'analytics',
  queue: 'analytics_queue',
  // Rollups are a handful of aggregate queries each; more at once would only queue in Postgres.
  concurrency: 2,
  handlers: {
    async daily_analytics_rollup(payload, ctx) {
      const result = await runDailyRollup(ctx.db, { workspaceId: payload.workspace_id, date: payload.date });
      ctx.log.info({ day: result.output.day, totalMetrics: result.output.total_metrics }, 'rollup written');
      return { ...result, costUsd: 0 };
    },
    async weekly_report_generation(payload, ctx) {
      const result = await runReport(ctx.db, ctx.log, {
        workspaceId: payload.workspace_id,
        kind: 'weekly',
        weekStart: payload.week_start,
      });
      return { ...result, costUsd: 0 };
    },
    async monthly_summary(payload, ctx) {
      const result = await runReport(ctx.db, ctx.log, {
        workspaceId: payload.workspace_id,
        kind: 'monthly',
        month: payload.month,
      });
      return { ...result, costUsd: 0 };
    },
    async campaign_optimization(payload, ctx) {
      const asOf = payload.as_of ? new Date(payload.as_of) : new Date(ctx.job.timestamp);
      const output = await runCampaignOptimization(ctx.db, { workspaceId: payload.workspace_id, asOf });
      ctx.log.info(
        { recommendations: output.recommendations.length, abTests: output.ab_tests.length },
        'campaign optimization done',
      );
      return { output, costUsd: 0 };
    },
  },
});
