/**
 * Fatigue: contacts mailed too often whose engagement is falling. Per contact the rule is plain
 * (config.fatigue): at least `maxSends` sends in the last window and an engagement rate at least
 * `minDrop` below the window before. Per segment, the high-frequency contacts' pooled rates of the
 * two windows are compared with a test (Holm-adjusted over segments): a segment is flagged when
 * mailing it often goes with a real fall in engagement, not the noise of a few contacts.
 */
import type { CampaignConfig } from './campaign-config.ts';
import { compareProportions, holmAdjust, type TestName } from './proportion-tests.ts';
import { round, roundP } from './round.ts';

/** One contact mailed at least `maxSends` times in the recent window. */
export interface ContactFrequency {
  contactId: string;
  segment: string;
  recentSends: number;
  recentEngaged: number;
  previousSends: number;
  previousEngaged: number;
}

export interface FatiguedContact {
  contact_id: string;
  segment: string;
  recent_sends: number;
  recent_rate: number;
  previous_sends: number;
  previous_rate: number;
  drop_pp: number;
}

export interface SegmentFatigue {
  segment: string;
  /** Contacts mailed at least maxSends times in the recent window. */
  high_frequency_contacts: number;
  fatigued_contacts: number;
  recent: { sends: number; engaged: number; rate: number };
  previous: { sends: number; engaged: number; rate: number };
  drop_pp: number;
  test: TestName | null;
  p_value: number | null;
  p_adjusted: number | null;
  /** The pooled rate fell significantly. */
  fatigued: boolean;
}

export interface FatigueResult {
  rule: CampaignConfig['fatigue'];
  high_frequency_contacts: number;
  fatigued_contacts: number;
  segments: SegmentFatigue[];
  /** The fatigued contacts, largest drop first (at most `limit`). */
  contacts: FatiguedContact[];
  contacts_truncated: boolean;
}

export function detectFatigue(rows: readonly ContactFrequency[], config: CampaignConfig, limit = 50): FatigueResult {
  const rule = config.fatigue;
  const highFrequency = rows.filter((r) => r.recentSends >= rule.maxSends);
  const fatigued = highFrequency
    .filter((r) => r.previousSends >= rule.minPreviousSends)
    .map((r) => {
      const recentRate = r.recentEngaged / r.recentSends;
      const previousRate = r.previousEngaged / r.previousSends;
      return { r, recentRate, previousRate, drop: previousRate - recentRate };
    })
    // The epsilon keeps a drop of exactly minDrop (e.g. 0.5 − 0.3) on the fatigued side.
    .filter((x) => x.drop >= rule.minDrop - 1e-9)
    .sort((a, b) => b.drop - a.drop || a.r.contactId.localeCompare(b.r.contactId));

  const segmentNames = [...new Set(highFrequency.map((r) => r.segment))].sort();
  const pooled = segmentNames.map((segment) => {
    const members = highFrequency.filter((r) => r.segment === segment && r.previousSends > 0);
    const sum = (f: (r: ContactFrequency) => number) => members.reduce((s, r) => s + f(r), 0);
    return {
      segment,
      members: highFrequency.filter((r) => r.segment === segment).length,
      recent: { sends: sum((r) => r.recentSends), engaged: sum((r) => r.recentEngaged) },
      previous: { sends: sum((r) => r.previousSends), engaged: sum((r) => r.previousEngaged) },
    };
  });
  const comparisons = pooled.map((s) =>
    s.previous.sends > 0 && s.recent.sends > 0
      ? compareProportions(
          { successes: s.previous.engaged, trials: s.previous.sends },
          { successes: s.recent.engaged, trials: s.recent.sends },
        )
      : null,
  );
  const tested = comparisons.map((c) => c?.pValue).filter((p): p is number => p !== undefined);
  const adjusted = holmAdjust(tested);
  let next = 0;
  const segments: SegmentFatigue[] = pooled.map((s, i) => {
    const c = comparisons[i];
    const pAdjusted = c ? adjusted[next++]! : null;
    const recentRate = s.recent.sends ? s.recent.engaged / s.recent.sends : 0;
    const previousRate = s.previous.sends ? s.previous.engaged / s.previous.sends : 0;
    return {
      segment: s.segment,
      high_frequency_contacts: s.members,
      fatigued_contacts: fatigued.filter((f) => f.r.segment === s.segment).length,
      recent: { ...s.recent, rate: round(recentRate) },
      previous: { ...s.previous, rate: round(previousRate) },
      drop_pp: round((previousRate - recentRate) * 100, 2),
      test: c?.test ?? null,
      p_value: c ? roundP(c.pValue) : null,
      p_adjusted: pAdjusted === null ? null : roundP(pAdjusted),
      fatigued: pAdjusted !== null && pAdjusted < config.alpha && recentRate < previousRate,
    };
  });

  return {
    rule,
    high_frequency_contacts: highFrequency.length,
    fatigued_contacts: fatigued.length,
    segments,
    contacts: fatigued.slice(0, limit).map(({ r, recentRate, previousRate, drop }) => ({
      contact_id: r.contactId,
      segment: r.segment,
      recent_sends: r.recentSends,
      recent_rate: round(recentRate),
      previous_sends: r.previousSends,
      previous_rate: round(previousRate),
      drop_pp: round(drop * 100, 2),
    })),
    contacts_truncated: fatigued.length > limit,
  };
}
