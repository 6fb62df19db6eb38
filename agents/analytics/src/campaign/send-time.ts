/**
 * Best send time: the local hour of day (workspace time zone) whose mail was engaged with most
 * often. An hour competes only with enough sends; the winner is then tested against all other
 * hours pooled, and since the winner was picked as the best of m hours its p-value is multiplied
 * by m (Bonferroni): without that, some hour would "win" significantly in most random data.
 */
import type { CampaignConfig } from './campaign-config.ts';
import { compareProportions, rate, type TestName } from './proportion-tests.ts';
import { round, roundP } from './round.ts';

/** Sends and engaged sends of one local hour (of one segment). */
export interface HourCell {
  hour: number;
  sends: number;
  engaged: number;
}

export interface HourRate {
  hour: number;
  sends: number;
  engaged: number;
  rate: number;
}

export interface SendTimeResult {
  /**
   * `recommended`: the best hour beats the others significantly; `no_clear_winner`: it does not;
   * `insufficient_data`: fewer than two hours have `minSendsPerHour` sends.
   */
  status: 'recommended' | 'no_clear_winner' | 'insufficient_data';
  sends: number;
  engaged: number;
  rate: number;
  /** Hours with enough sends, best first (ties: earlier hour first). */
  hours: HourRate[];
  /** Hours left out for too few sends. */
  hours_below_min_sample: number[];
  best_hour: number | null;
  best: HourRate | null;
  /** All other sends pooled (including hours below the minimum sample). */
  rest: { sends: number; engaged: number; rate: number } | null;
  lift_pp: number | null;
  test: TestName | null;
  p_value: number | null;
  /** p_value × hours compared, capped at 1: what is compared with alpha. */
  p_adjusted: number | null;
  hours_compared: number;
}

export function bestSendTime(cells: readonly HourCell[], config: CampaignConfig): SendTimeResult {
  const byHour = new Map<number, HourCell>();
  for (const c of cells) {
    const h = byHour.get(c.hour) ?? { hour: c.hour, sends: 0, engaged: 0 };
    h.sends += c.sends;
    h.engaged += c.engaged;
    byHour.set(c.hour, h);
  }
  const all = [...byHour.values()];
  const sends = all.reduce((s, h) => s + h.sends, 0);
  const engaged = all.reduce((s, h) => s + h.engaged, 0);
  const eligible = all
    .filter((h) => h.sends >= config.minSendsPerHour)
    .map((h) => ({ ...h, rate: round(rate({ successes: h.engaged, trials: h.sends })) }))
    .sort((a, b) => b.engaged / b.sends - a.engaged / a.sends || a.hour - b.hour);
  const below = all
    .filter((h) => h.sends < config.minSendsPerHour)
    .map((h) => h.hour)
    .sort((a, b) => a - b);
  const base = {
    sends,
    engaged,
    rate: round(rate({ successes: engaged, trials: Math.max(sends, 1) })),
    hours: eligible,
    hours_below_min_sample: below,
    hours_compared: eligible.length,
  };
  if (eligible.length < 2) {
    return {
      ...base,
      status: 'insufficient_data',
      best_hour: null,
      best: null,
      rest: null,
      lift_pp: null,
      test: null,
      p_value: null,
      p_adjusted: null,
    };
  }
  const best = eligible[0]!;
  const rest = { sends: sends - best.sends, engaged: engaged - best.engaged };
  const comparison = compareProportions(
    { successes: rest.engaged, trials: rest.sends },
    { successes: best.engaged, trials: best.sends },
  );
  const pAdjusted = Math.min(1, comparison.pValue * eligible.length);
  const restRate = rest.engaged / rest.sends;
  return {
    ...base,
    status: pAdjusted < config.alpha && best.engaged / best.sends > restRate ? 'recommended' : 'no_clear_winner',
    best_hour: best.hour,
    best,
    rest: { ...rest, rate: round(restRate) },
    lift_pp: round((best.engaged / best.sends - restRate) * 100, 2),
    test: comparison.test,
    p_value: roundP(comparison.pValue),
    p_adjusted: roundP(pAdjusted),
  };
}
