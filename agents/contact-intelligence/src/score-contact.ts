/**
 * The lead score of one contact from its signals: a pure function, so every number in a stored
 * breakdown can be recomputed by hand from the `detail` next to it.
 */
import { FACTOR_NAMES, type FactorName, type LeadScoringConfig, type LeadTier, TIER_ORDER } from './scoring-config.ts';
import { SENIORITY_VALUES, seniorityOf } from './seniority.ts';

export type { LeadTier } from './scoring-config.ts';

/** What scoring knows about a contact (counts are within the configured lookback window). */
export interface ContactSignals {
  jobTitle: string | null;
  /** Profile fields that count towards completeness. */
  profile: { firstName: string | null; lastName: string | null; company: string | null; phone: string | null };
  inbound: number;
  outbound: number;
  opens: number;
  clicks: number;
  replies: number;
  /** Emails either way within the frequency window. */
  recentEmails: number;
  lastInteractionAt: Date | null;
  /** Email insights within the lookback window. */
  insights: number;
  /** Mean sentiment of those insights in [-1, 1]; null without insights. */
  meanSentiment: number | null;
  /**
   * Distinct intents (intent and intents[]) of the contact's own mail (inbound insights), since
   * its latest "no" when there is one.
   */
  intents: string[];
  /** The contact's latest negative intent (config.negative.intents) and when it was said. */
  latestNegative: {
    intent: string;
    at: Date;
  } | null /** The contact's latest commitment (config.commitment.intents) since its latest "no". */;
  latestCommitment: { intent: string; at: Date } | null;
}

/** The lift a recent commitment to buy gave the score. */
export interface CommitmentAdjustment {
  intent: string;
  at: string;
  factors_score: number;
  min_tier: LeadTier;
}

/** The adjustment a standing "no" made to the score. */
export interface NegativeAdjustment {
  intent: string;
  at: string;
  /** The score the factors add up to, before the penalty. */
  factors_score: number;
  penalty: number;
  max_tier: LeadTier;
}

export interface FactorBreakdown {
  /** The factor in [0, 1], rounded to 4 decimals. */
  value: number;
  weight: number;
  /** Points this factor contributes to the 0-100 score (value × weight / Σ weights × 100). */
  points: number;
  /** The inputs behind `value`, for the person reading the breakdown. */
  detail: Record<string, string | number | boolean | null>;
}

export interface ScoreResult {
  score: number;
  tier: LeadTier;
  /**
   * Per factor; plus `negative_intent` when a standing "no" lowered the score, or `commitment`
   * when a recent commitment to buy lifted it.
   */
  factors: Record<FactorName, FactorBreakdown> & {
    negative_intent?: NegativeAdjustment;
    commitment?: CommitmentAdjustment;
  };
}

const COMPLETENESS_FIELDS = ['first_name', 'last_name', 'company', 'job_title', 'phone'] as const;
const DAY_MS = 86_400_000;

export function tierOf(score: number, tiers: LeadScoringConfig['tiers']): LeadTier {
  if (score >= tiers.hot) return 'hot';
  if (score >= tiers.warm) return 'warm';
  return 'cold';
}

/** Scores one contact as of `asOf`. */
export function scoreContact(s: ContactSignals, config: LeadScoringConfig, asOf: Date): ScoreResult {
  const raw = rawFactors(s, config, asOf);
  const totalWeight = FACTOR_NAMES.reduce((sum, f) => sum + config.weights[f], 0);
  let weighted = 0;
  const factors = {} as Record<FactorName, FactorBreakdown>;
  for (const name of FACTOR_NAMES) {
    if (!Number.isFinite(raw[name].value)) {
      throw new Error(`${name} factor is not a number; check the contact's ${name} inputs`);
    }
    const value = clamp(raw[name].value, 0, 1);
    const weight = config.weights[name];
    weighted += value * weight;
    factors[name] = {
      value: round(value, 4),
      weight,
      points: round((100 * value * weight) / totalWeight, 2),
      detail: raw[name].detail,
    };
  }
  const factorsScore = Math.round((100 * weighted) / totalWeight);
  const no = standingNegative(s, config);
  const commitment = no ? null : recentCommitment(s, config, asOf);
  if (commitment) {
    const floor = config.tiers[commitment.minTier as 'hot' | 'warm'] ?? 0;
    const score = Math.max(factorsScore, floor);
    return {
      score,
      tier: TIER_ORDER[
        Math.max(TIER_ORDER.indexOf(tierOf(score, config.tiers)), TIER_ORDER.indexOf(commitment.minTier))
      ]!,
      factors: {
        ...factors,
        commitment: {
          intent: commitment.intent,
          at: commitment.at.toISOString(),
          factors_score: factorsScore,
          min_tier: commitment.minTier,
        },
      },
    };
  }
  if (!no) return { score: factorsScore, tier: tierOf(factorsScore, config.tiers), factors };
  const score = Math.max(0, factorsScore - no.penalty);
  const tier = TIER_ORDER[Math.min(TIER_ORDER.indexOf(tierOf(score, config.tiers)), TIER_ORDER.indexOf(no.maxTier))]!;
  return {
    score,
    tier,
    factors: {
      ...factors,
      negative_intent: {
        intent: no.intent,
        at: no.at.toISOString(),
        factors_score: factorsScore,
        penalty: no.penalty,
        max_tier: no.maxTier,
      },
    },
  };
}

/** A commitment to buy within the configured window (signals only report one made after any "no"). */
function recentCommitment(
  s: ContactSignals,
  config: LeadScoringConfig,
  asOf: Date,
): { intent: string; at: Date; minTier: LeadTier } | null {
  const c = s.latestCommitment;
  if (!c) return null;
  if (asOf.getTime() - c.at.getTime() > config.commitment.withinDays * DAY_MS) return null;
  return { ...c, minTier: config.commitment.minTier };
}

/** The contact's latest "no", unless buying interest came after it. */
function standingNegative(
  s: ContactSignals,
  config: LeadScoringConfig,
): { intent: string; at: Date; penalty: number; maxTier: LeadTier } | null {
  if (!s.latestNegative) return null;
  const rule = config.negative.intents[s.latestNegative.intent];
  if (!rule) return null;
  const clearing = new Set(config.negative.clearedBy.map((i) => i.toLowerCase()));
  if (s.intents.some((i) => clearing.has(i.toLowerCase()))) return null;
  return { ...s.latestNegative, ...rule };
}

type Raw = Record<FactorName, { value: number; detail: FactorBreakdown['detail'] }>;

function rawFactors(s: ContactSignals, c: LeadScoringConfig, asOf: Date): Raw {
  const e = c.engagement;
  const points =
    s.inbound * e.perInbound +
    s.outbound * e.perOutbound +
    s.opens * e.perOpen +
    s.clicks * e.perClick +
    s.replies * e.perReply;

  const days =
    s.lastInteractionAt === null ? null : Math.max(0, (asOf.getTime() - s.lastInteractionAt.getTime()) / DAY_MS);

  const intentValues = s.intents.map((i) => c.intent.values[i.toLowerCase()] ?? c.intent.unknownValue);
  const bestIntent =
    intentValues.length === 0 ? null : (s.intents[intentValues.indexOf(Math.max(...intentValues))] ?? null);

  const level = seniorityOf(s.jobTitle);
  const present = [s.profile.firstName, s.profile.lastName, s.profile.company, s.jobTitle, s.profile.phone].map(
    (v) => v != null && v.trim() !== '',
  );
  const missing = COMPLETENESS_FIELDS.filter((_, i) => !present[i]);

  return {
    engagement: {
      value: points / e.maxPoints,
      detail: {
        inbound: s.inbound,
        outbound: s.outbound,
        opens: s.opens,
        clicks: s.clicks,
        replies: s.replies,
        points,
        max_points: e.maxPoints,
      },
    },
    recency: {
      value: days === null ? 0 : 0.5 ** (days / c.recency.halfLifeDays),
      detail: {
        last_interaction_at: s.lastInteractionAt?.toISOString() ?? null,
        days_since: days === null ? null : round(days, 2),
        half_life_days: c.recency.halfLifeDays,
      },
    },
    frequency: {
      value: s.recentEmails / c.frequency.emailsForFull,
      detail: {
        emails_in_window: s.recentEmails,
        window_days: c.frequency.windowDays,
        emails_for_full: c.frequency.emailsForFull,
      },
    },
    sentiment: {
      // No insights: no evidence either way, so no points (not the neutral half).
      value: s.meanSentiment === null ? 0 : (clamp(s.meanSentiment, -1, 1) + 1) / 2,
      detail: {
        insights: s.insights,
        mean_sentiment: s.meanSentiment === null ? null : round(s.meanSentiment, 4),
        absent: s.meanSentiment === null,
      },
    },
    intent: {
      value: intentValues.length === 0 ? 0 : Math.max(...intentValues),
      detail: { strongest_intent: bestIntent, intents_seen: s.intents.length, absent: intentValues.length === 0 },
    },
    seniority: {
      value: level === null ? 0 : SENIORITY_VALUES[level],
      detail: { job_title: s.jobTitle, level },
    },
    completeness: {
      value: (COMPLETENESS_FIELDS.length - missing.length) / COMPLETENESS_FIELDS.length,
      detail: { missing: missing.length === 0 ? null : missing.join(',') },
    },
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
