/**
 * campaign_optimization for one workspace: best send time (workspace-wide and per segment), A/B
 * results with significance tests, fatigue, and recommendations built from them. Deterministic:
 * the same mail and the same `asOf` give the same output, every number explained beside it.
 */
import type { Database } from '@fleet/db';
import type { Kysely } from 'kysely';
import { loadWorkspaceClock } from '../workspace-clock.ts';
import { type AbTestResult, abTestResults } from './ab-results.ts';
import { type CampaignConfig, resolveCampaignConfig } from './campaign-config.ts';
import { frequentContacts, sendTimeCounts, variantCounts } from './campaign-queries.ts';
import { detectFatigue, type FatigueResult } from './fatigue.ts';
import { buildRecommendations, type Recommendation, type SegmentSendTime } from './recommendations.ts';
import { bestSendTime, type SendTimeResult } from './send-time.ts';

export interface CampaignOptimizationOutput {
  [key: string]: unknown;
  workspace_id: string;
  as_of: string;
  timezone: string;
  window: { start: string; end: string; lookback_days: number; settle_hours: number };
  engagement: string;
  config: CampaignConfig;
  send_time: { workspace: SendTimeResult; segments: SegmentSendTime[] };
  ab_tests: AbTestResult[];
  fatigue: FatigueResult;
  recommendations: Recommendation[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export async function runCampaignOptimization(
  db: Kysely<Database>,
  input: { workspaceId: string; asOf: Date },
): Promise<CampaignOptimizationOutput> {
  const clock = await loadWorkspaceClock(db, input.workspaceId, input.asOf);
  const ws = await db
    .selectFrom('workspaces')
    .select('settings')
    .where('id', '=', input.workspaceId)
    .executeTakeFirstOrThrow();
  const config = resolveCampaignConfig(ws.settings);
  const end = new Date(input.asOf.getTime() - config.settleHours * HOUR_MS);
  const window = { start: new Date(end.getTime() - config.lookbackDays * DAY_MS), end };

  const cells = await sendTimeCounts(db, input.workspaceId, clock.timezone, window);
  const variants = await variantCounts(db, input.workspaceId, window);
  const frequent = await frequentContacts(
    db,
    input.workspaceId,
    end,
    config.fatigue.windowDays,
    config.fatigue.maxSends,
  );

  const workspace = bestSendTime(cells, config);
  const segments = [...new Set(cells.map((c) => c.segment))]
    .sort()
    .map((segment) => ({ segment, cells: cells.filter((c) => c.segment === segment) }))
    .filter((s) => s.cells.reduce((n, c) => n + c.sends, 0) >= config.minSendsPerSegment)
    .map((s): SegmentSendTime => ({ segment: s.segment, ...bestSendTime(s.cells, config) }));
  const abTests = abTestResults(variants, config);
  const fatigue = detectFatigue(frequent, config);

  return {
    workspace_id: input.workspaceId,
    as_of: input.asOf.toISOString(),
    timezone: clock.timezone,
    window: {
      start: window.start.toISOString(),
      end: window.end.toISOString(),
      lookback_days: config.lookbackDays,
      settle_hours: config.settleHours,
    },
    engagement: 'an outbound email counts as engaged when it was opened, clicked or replied to before the window end',
    config,
    send_time: { workspace, segments },
    ab_tests: abTests,
    fatigue,
    recommendations: buildRecommendations({
      timezone: clock.timezone,
      config,
      workspaceSendTime: workspace,
      segmentSendTimes: segments,
      abTests,
      fatigue,
    }),
  };
}
