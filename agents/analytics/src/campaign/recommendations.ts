/**
 * Turns the analyses into concrete recommendations, each with the numbers behind it, in a fixed
 * order (send time, A/B tests, fatigue), so the same data gives the same list.
 */
import type { AbTestResult } from './ab-results.ts';
import type { CampaignConfig } from './campaign-config.ts';
import type { FatigueResult } from './fatigue.ts';
import { describeP, percent } from './round.ts';
import type { SendTimeResult } from './send-time.ts';

export interface Recommendation {
  kind: 'send_time' | 'ab_winner' | 'ab_continue' | 'ab_no_difference' | 'fatigue';
  /** `workspace`, a segment name, or a campaign name. */
  scope: string;
  action: string;
  reason: string;
  numbers: Record<string, number | string | null>;
}

export interface SegmentSendTime extends SendTimeResult {
  segment: string;
}

function hourRange(hour: number): string {
  const h = (n: number) => `${String(n % 24).padStart(2, '0')}:00`;
  return `${h(hour)}–${h(hour + 1)}`;
}

export function buildRecommendations(input: {
  timezone: string;
  config: CampaignConfig;
  workspaceSendTime: SendTimeResult;
  segmentSendTimes: SegmentSendTime[];
  abTests: AbTestResult[];
  fatigue: FatigueResult;
}): Recommendation[] {
  const out: Recommendation[] = [];
  const sendTime = (scope: string, s: SendTimeResult) => {
    if (s.status !== 'recommended' || !s.best || !s.rest) return;
    out.push({
      kind: 'send_time',
      scope,
      action: `Send ${scope === 'workspace' ? '' : `${scope} contacts' `}mail at ${hourRange(s.best.hour)} ${input.timezone}`,
      reason:
        `${percent(s.best.rate)} of ${s.best.sends} sends at that hour were opened, clicked or replied to, against ` +
        `${percent(s.rest.rate)} of ${s.rest.sends} at other hours (+${s.lift_pp} pp, ${describeP(s.p_adjusted!)} ` +
        `after correcting for ${s.hours_compared} hours compared)`,
      numbers: {
        hour: s.best.hour,
        best_rate: s.best.rate,
        best_sends: s.best.sends,
        other_rate: s.rest.rate,
        other_sends: s.rest.sends,
        lift_pp: s.lift_pp,
        p_value: s.p_value,
        p_adjusted: s.p_adjusted,
      },
    });
  };
  sendTime('workspace', input.workspaceSendTime);
  for (const s of input.segmentSendTimes) {
    // A segment whose best hour is the workspace's needs no advice of its own.
    if (s.best_hour !== input.workspaceSendTime.best_hour || input.workspaceSendTime.status !== 'recommended') {
      sendTime(s.segment, s);
    }
  }

  for (const t of input.abTests) {
    const leader = t.variants.find((v) => v.variant === t.leader)!;
    const metricRate = (v: (typeof t.variants)[number]) =>
      t.metric === 'open' ? v.open_rate : t.metric === 'click' ? v.click_rate : v.reply_rate;
    const closest = [...t.comparisons].sort((a, b) => b.p_adjusted - a.p_adjusted)[0]!;
    const numbers = {
      metric: t.metric,
      leader: t.leader,
      leader_rate: metricRate(leader),
      leader_sends: leader.sends,
      runner_up: closest.variant,
      runner_up_rate: closest.rate,
      difference_pp: closest.difference_pp,
      p_value: closest.p_value,
      p_adjusted: closest.p_adjusted,
      test: closest.test,
      needed_per_variant: t.needed_per_variant,
    };
    if (t.status === 'winner') {
      out.push({
        kind: 'ab_winner',
        scope: t.campaign,
        action: `Use variant ${t.leader}${leader.subject ? ` ("${leader.subject}")` : ''} for the rest of "${t.campaign}"`,
        reason: `${t.metric} rate ${percent(metricRate(leader))} vs ${percent(closest.rate)} for ${closest.variant} (${closest.difference_pp} pp, ${describeP(closest.p_adjusted)}, ${closest.test})`,
        numbers,
      });
    } else if (
      t.status === 'insufficient_sample' ||
      (t.needed_per_variant !== null && t.needed_per_variant <= 50_000)
    ) {
      const smallest = Math.min(...t.variants.map((v) => v.sends));
      const needed = Math.max(t.needed_per_variant ?? 0, input.config.minSamplePerVariant);
      out.push({
        kind: 'ab_continue',
        scope: t.campaign,
        action: `Keep testing "${t.campaign}": about ${needed} sends per variant are needed (the smallest has ${smallest})`,
        reason: `${t.leader} leads with ${percent(metricRate(leader))} vs ${percent(closest.rate)} for ${closest.variant}, not significant yet (${describeP(closest.p_adjusted)})`,
        numbers,
      });
    } else {
      out.push({
        kind: 'ab_no_difference',
        scope: t.campaign,
        action: `Stop testing "${t.campaign}": its variants perform alike; pick on other grounds`,
        reason: `${percent(metricRate(leader))} vs ${percent(closest.rate)} with at least ${Math.min(...t.variants.map((v) => v.sends))} sends per variant (${describeP(closest.p_adjusted)}); a difference this small would need ${t.needed_per_variant ?? 'unboundedly many'} sends per variant`,
        numbers,
      });
    }
  }

  const rule = input.fatigue.rule;
  for (const s of input.fatigue.segments) {
    if (!s.fatigued) continue;
    out.push({
      kind: 'fatigue',
      scope: s.segment,
      action: `Mail the ${s.fatigued_contacts} fatigued ${s.segment} contacts fewer than ${rule.maxSends} times per ${rule.windowDays} days`,
      reason:
        `contacts of segment ${s.segment} mailed ${rule.maxSends}+ times in the last ${rule.windowDays} days engaged with ` +
        `${percent(s.recent.rate)} of ${s.recent.sends} sends, down from ${percent(s.previous.rate)} of ${s.previous.sends} ` +
        `the ${rule.windowDays} days before (−${s.drop_pp} pp, ${describeP(s.p_adjusted!)})`,
      numbers: {
        fatigued_contacts: s.fatigued_contacts,
        high_frequency_contacts: s.high_frequency_contacts,
        recent_rate: s.recent.rate,
        recent_sends: s.recent.sends,
        previous_rate: s.previous.rate,
        previous_sends: s.previous.sends,
        drop_pp: s.drop_pp,
        p_value: s.p_value,
        p_adjusted: s.p_adjusted,
      },
    });
  }
  return out;
}
