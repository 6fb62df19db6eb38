/**
 * A/B results of a campaign: the variant with the best rate on the deciding metric (the leader)
 * is compared with every other variant; with more than two variants the p-values are
 * Holm-adjusted, so "winner" keeps its meaning however many variants were sent. A winner needs
 * every variant to have the minimum sample and every comparison to be significant; otherwise the
 * result says how many sends per variant the observed difference would need.
 */
import type { CampaignConfig } from './campaign-config.ts';
import {
  compareProportions,
  holmAdjust,
  type Proportion,
  rate,
  sampleSizePerArm,
  type TestName,
} from './proportion-tests.ts';
import { round, roundP } from './round.ts';

export type Metric = CampaignConfig['abMetric'];

/** One variant of one campaign, as counted in the window. */
export interface VariantCounts {
  campaignId: string;
  campaignName: string;
  tested: string;
  variant: string;
  /** The subject line most of its mail carried. */
  subject: string | null;
  sends: number;
  opens: number;
  clicks: number;
  replies: number;
}

export interface VariantResult {
  variant: string;
  subject: string | null;
  sends: number;
  opens: number;
  clicks: number;
  replies: number;
  open_rate: number;
  click_rate: number;
  reply_rate: number;
}

export interface VariantComparison {
  variant: string;
  against: string;
  rate: number;
  leader_rate: number;
  /** leader − variant, percentage points. */
  difference_pp: number;
  test: TestName;
  z: number | null;
  p_value: number;
  p_adjusted: number;
  significant: boolean;
}

export interface AbTestResult {
  campaign_id: string;
  campaign: string;
  tested: string;
  metric: Metric;
  /**
   * `winner`: the leader beats every other variant significantly; `no_significant_difference`:
   * enough sends, no significant difference; `insufficient_sample`: a variant is below
   * min_sample_per_variant.
   */
  status: 'winner' | 'no_significant_difference' | 'insufficient_sample';
  leader: string;
  winner: string | null;
  variants: VariantResult[];
  comparisons: VariantComparison[];
  min_sample_per_variant: number;
  /**
   * Sends per variant that the closest observed difference would need to reach significance with
   * the configured power; null when there is a winner or no difference at all.
   */
  needed_per_variant: number | null;
}

const METRIC_FIELD = { open: 'opens', click: 'clicks', reply: 'replies' } as const;

export function abTestResults(rows: readonly VariantCounts[], config: CampaignConfig): AbTestResult[] {
  const campaigns = new Map<string, VariantCounts[]>();
  for (const r of rows) campaigns.set(r.campaignId, [...(campaigns.get(r.campaignId) ?? []), r]);
  const results: AbTestResult[] = [];
  for (const variants of campaigns.values()) {
    if (variants.length < 2) continue;
    results.push(judgeCampaign(variants, config));
  }
  return results.sort((a, b) => a.campaign.localeCompare(b.campaign) || a.campaign_id.localeCompare(b.campaign_id));
}

function judgeCampaign(rows: VariantCounts[], config: CampaignConfig): AbTestResult {
  const field = METRIC_FIELD[config.abMetric];
  const of = (v: VariantCounts): Proportion => ({ successes: v[field], trials: v.sends });
  // Leader: best rate; ties go to the alphabetically first variant so reruns agree.
  const sorted = [...rows].sort((a, b) => rate(of(b)) - rate(of(a)) || a.variant.localeCompare(b.variant));
  const leader = sorted[0]!;
  const others = sorted.slice(1);
  const raw = others.map((v) => compareProportions(of(v), of(leader)));
  const adjusted = holmAdjust(raw.map((c) => c.pValue));
  const comparisons: VariantComparison[] = others.map((v, i) => ({
    variant: v.variant,
    against: leader.variant,
    rate: round(rate(of(v))),
    leader_rate: round(rate(of(leader))),
    difference_pp: round((rate(of(leader)) - rate(of(v))) * 100, 2),
    test: raw[i]!.test,
    z: raw[i]!.z === null ? null : round(raw[i]!.z!, 3),
    p_value: roundP(raw[i]!.pValue),
    p_adjusted: roundP(adjusted[i]!),
    significant: adjusted[i]! < config.alpha && rate(of(leader)) > rate(of(v)),
  }));
  const enough = rows.every((v) => v.sends >= config.minSamplePerVariant);
  const allSignificant = comparisons.every((c) => c.significant);
  const status = !enough ? 'insufficient_sample' : allSignificant ? 'winner' : 'no_significant_difference';
  // The runner-up decides how many more sends are needed: the smallest difference to resolve.
  const runnerUp = others[0]!;
  const needed =
    status === 'winner' ? null : sampleSizePerArm(rate(of(leader)), rate(of(runnerUp)), config.alpha, config.power);
  return {
    campaign_id: leader.campaignId,
    campaign: leader.campaignName,
    tested: leader.tested,
    metric: config.abMetric,
    status,
    leader: leader.variant,
    winner: status === 'winner' ? leader.variant : null,
    variants: [...rows]
      .sort((a, b) => a.variant.localeCompare(b.variant))
      .map((v) => ({
        variant: v.variant,
        subject: v.subject,
        sends: v.sends,
        opens: v.opens,
        clicks: v.clicks,
        replies: v.replies,
        open_rate: round(v.opens / v.sends),
        click_rate: round(v.clicks / v.sends),
        reply_rate: round(v.replies / v.sends),
      })),
    comparisons,
    min_sample_per_variant: config.minSamplePerVariant,
    needed_per_variant: needed === null || !Number.isFinite(needed) ? null : needed,
  };
}
