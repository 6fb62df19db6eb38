/**
 * Lead-scoring configuration: the one place where the weights, caps and thresholds live.
 *
 * A score is `100 × Σ(weightᵢ × factorᵢ) / Σ weightᵢ`, rounded, where every factor is a number in
 * [0, 1]. Weights are relative: only their proportions matter, so a workspace that does not care
 * about sentiment sets `sentiment: 0` and the other factors share its points.
 *
 * A workspace overrides any part of it in `workspaces.settings.lead_scoring`, for example
 * `{ "lead_scoring": { "weights": { "intent": 25 }, "tiers": { "hot": 80 } } }`; what it does not
 * mention keeps the default below.
 */
import { z } from 'zod';

export const FACTOR_NAMES = [
  'engagement',
  'recency',
  'frequency',
  'sentiment',
  'intent',
  'seniority',
  'completeness',
] as const;
export type FactorName = (typeof FACTOR_NAMES)[number];

export interface LeadScoringConfig {
  /** Relative weight of each factor (≥ 0, at least one > 0). */
  weights: Record<FactorName, number>;
  /** Emails and insights older than this many days are ignored by engagement, sentiment and intent. */
  lookbackDays: number;
  /**
   * Engagement: points per event, saturating at `maxPoints` (factor = min(1, points / maxPoints)).
   * A reply or a click says more about interest than a message we sent, hence the spread.
   */
  engagement: {
    perInbound: number;
    perOutbound: number;
    perOpen: number;
    perClick: number;
    perReply: number;
    maxPoints: number;
  };
  /** Recency: factor = 0.5^(days since last interaction / halfLifeDays); 0 without any interaction. */
  recency: { halfLifeDays: number };
  /** Frequency: emails either way in the last `windowDays`; factor = min(1, count / emailsForFull). */
  frequency: { windowDays: number; emailsForFull: number };
  /**
   * Intent: the strongest buying signal among the contact's email insights (intent and intents[]),
   * valued by this table; an intent not in the table counts `unknownValue`.
   */
  intent: { values: Record<string, number>; unknownValue: number };
  /** Tier thresholds on the 0-100 score: hot ≥ hot, warm ≥ warm, cold below. */
  tiers: { hot: number; warm: number };
  /**
   * A contact's "no": when the latest of these intents among its insights has not been followed
   * by buying interest (an intent of `clearedBy`), the score loses `penalty` points and the tier
   * is at most `maxTier`. Interest shown before the "no" no longer counts towards intent.
   */
  negative: {
    intents: Record<string, { penalty: number; maxTier: LeadTier }>;
    clearedBy: string[];
  };
  /**
   * A contact ready to buy: one of these intents within `withinDays`, not followed by a "no",
   * lifts the tier to at least `minTier` (and the score to that tier's threshold), however little
   * history there is. A buyer who writes once, "send the order form", is the hottest lead there is.
   */
  commitment: { intents: string[]; withinDays: number; minTier: LeadTier };
}

export type LeadTier = 'hot' | 'warm' | 'cold';
export const TIER_ORDER: readonly LeadTier[] = ['cold', 'warm', 'hot'];

export const DEFAULT_SCORING_CONFIG: LeadScoringConfig = {
  weights: {
    engagement: 30,
    recency: 20,
    frequency: 10,
    sentiment: 10,
    intent: 15,
    seniority: 10,
    completeness: 5,
  },
  lookbackDays: 180,
  engagement: { perInbound: 3, perOutbound: 1, perOpen: 1, perClick: 2, perReply: 4, maxPoints: 40 },
  recency: { halfLifeDays: 14 },
  frequency: { windowDays: 30, emailsForFull: 10 },
  intent: {
    // The continuous-intelligence extractor's intents first, then common synonyms other
    // extractors use.
    values: {
      purchase_intent: 1,
      pricing_inquiry: 0.9,
      demo_request: 0.9,
      meeting_request: 0.7,
      partnership: 0.6,
      follow_up: 0.5,
      information_request: 0.4,
      billing: 0.3,
      feedback: 0.3,
      introduction: 0.3,
      support_issue: 0.2,
      other: 0.2,
      complaint: 0,
      cancellation: 0,
      unsubscribe: 0,
      not_interested: 0,
      out_of_office: 0,
      purchase: 1,
      buying: 1,
      pricing: 0.9,
      quote_request: 0.9,
      trial: 0.8,
      scheduling: 0.6,
      question: 0.4,
      support: 0.2,
      support_request: 0.2,
      newsletter: 0,
      spam: 0,
    },
    unknownValue: 0.2,
  },
  tiers: { hot: 70, warm: 40 },
  negative: {
    intents: {
      unsubscribe: { penalty: 40, maxTier: 'cold' },
      not_interested: { penalty: 30, maxTier: 'cold' },
      cancellation: { penalty: 30, maxTier: 'cold' },
      complaint: { penalty: 15, maxTier: 'warm' },
    },
    clearedBy: [
      'purchase_intent',
      'pricing_inquiry',
      'demo_request',
      'meeting_request',
      'purchase',
      'pricing',
      'quote_request',
      'trial',
    ],
  },
  commitment: { intents: ['purchase_intent', 'purchase', 'buying'], withinDays: 30, minTier: 'hot' },
};

const nonNegative = z.number().finite().min(0, 'must be ≥ 0');
const positive = z.number().finite().gt(0, 'must be > 0');
const unit = z.number().finite().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const threshold = z.number().finite().min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100');

/** The shape of `workspaces.settings.lead_scoring`: every part optional, unknown keys rejected. */
export const scoringOverrideSchema = z.strictObject({
  weights: z.strictObject(Object.fromEntries(FACTOR_NAMES.map((f) => [f, nonNegative.optional()]))).optional(),
  lookbackDays: positive.optional(),
  engagement: z
    .strictObject({
      perInbound: nonNegative.optional(),
      perOutbound: nonNegative.optional(),
      perOpen: nonNegative.optional(),
      perClick: nonNegative.optional(),
      perReply: nonNegative.optional(),
      maxPoints: positive.optional(),
    })
    .optional(),
  recency: z.strictObject({ halfLifeDays: positive.optional() }).optional(),
  frequency: z.strictObject({ windowDays: positive.optional(), emailsForFull: positive.optional() }).optional(),
  intent: z.strictObject({ values: z.record(z.string(), unit).optional(), unknownValue: unit.optional() }).optional(),
  tiers: z.strictObject({ hot: threshold.optional(), warm: threshold.optional() }).optional(),
  negative: z
    .strictObject({
      intents: z
        .record(z.string(), z.strictObject({ penalty: threshold, maxTier: z.enum(['hot', 'warm', 'cold']) }))
        .optional(),
      clearedBy: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  commitment: z
    .strictObject({
      intents: z.array(z.string().min(1)).optional(),
      withinDays: positive.optional(),
      minTier: z.enum(['hot', 'warm', 'cold']).optional(),
    })
    .optional(),
});
export type ScoringOverride = z.infer<typeof scoringOverrideSchema>;

/** A workspace's lead_scoring settings are unusable; the message names the setting. */
export class ScoringConfigError extends Error {
  override name = 'ScoringConfigError';
}

/**
 * The configuration a workspace scores with: the defaults, overridden by
 * `settings.lead_scoring` when present. Throws {@link ScoringConfigError} naming each bad setting.
 */
export function resolveScoringConfig(settings: unknown): LeadScoringConfig {
  const raw = settings && typeof settings === 'object' ? (settings as Record<string, unknown>).lead_scoring : undefined;
  if (raw === undefined || raw === null) return DEFAULT_SCORING_CONFIG;
  const parsed = scoringOverrideSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `settings.lead_scoring${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`,
    );
    throw new ScoringConfigError(`Invalid lead scoring settings: ${problems.join('; ')}`);
  }
  const o = parsed.data;
  const d = DEFAULT_SCORING_CONFIG;
  const config: LeadScoringConfig = {
    weights: { ...d.weights, ...definedOnly(o.weights ?? {}) } as Record<FactorName, number>,
    lookbackDays: o.lookbackDays ?? d.lookbackDays,
    engagement: { ...d.engagement, ...definedOnly(o.engagement ?? {}) },
    recency: { ...d.recency, ...definedOnly(o.recency ?? {}) },
    frequency: { ...d.frequency, ...definedOnly(o.frequency ?? {}) },
    intent: {
      values: { ...d.intent.values, ...(o.intent?.values ?? {}) },
      unknownValue: o.intent?.unknownValue ?? d.intent.unknownValue,
    },
    tiers: { ...d.tiers, ...definedOnly(o.tiers ?? {}) },
    negative: {
      intents: { ...d.negative.intents, ...(o.negative?.intents ?? {}) },
      clearedBy: o.negative?.clearedBy ?? d.negative.clearedBy,
    },
    commitment: { ...d.commitment, ...definedOnly(o.commitment ?? {}) },
  };
  if (FACTOR_NAMES.every((f) => config.weights[f] === 0)) {
    throw new ScoringConfigError(
      'Invalid lead scoring settings: settings.lead_scoring.weights: at least one must be > 0',
    );
  }
  if (config.tiers.warm > config.tiers.hot) {
    throw new ScoringConfigError(
      `Invalid lead scoring settings: settings.lead_scoring.tiers: warm (${config.tiers.warm}) must not exceed hot (${config.tiers.hot})`,
    );
  }
  return config;
}

function definedOnly<T extends object>(o: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
