/**
 * Campaign-optimization configuration: the one place for its windows, sample rules and
 * thresholds. A workspace overrides any of them in `workspaces.settings.campaign_optimization`,
 * e.g. `{ "campaign_optimization": { "alpha": 0.01, "fatigue": { "maxSends": 6 } } }`.
 */
import { PermanentError } from '@fleet/runtime';
import { z } from 'zod';

export interface CampaignConfig {
  /** Outbound mail of this many days before the end of the window is analysed. */
  lookbackDays: number;
  /**
   * Mail of the last `settleHours` before `as_of` is left out: its opens, clicks and replies are
   * still arriving, and counting it would make the newest mail (and so fatigue) look worse.
   */
  settleHours: number;
  /** Significance level of every test (after Holm/Bonferroni correction where several are made). */
  alpha: number;
  /** Power for the "how many more sends" estimate of an inconclusive A/B test. */
  power: number;
  /** An A/B variant with fewer sends is not judged. */
  minSamplePerVariant: number;
  /** An hour of day with fewer sends does not compete for best send time. */
  minSendsPerHour: number;
  /** A segment with fewer sends gets no send-time recommendation of its own. */
  minSendsPerSegment: number;
  /** The rate that decides an A/B test; all three are reported. */
  abMetric: 'open' | 'click' | 'reply';
  /**
   * Fatigue: a contact mailed at least `maxSends` times in the last `windowDays` whose engagement
   * rate fell by at least `minDrop` (absolute) from the window before, where it had at least
   * `minPreviousSends` sends.
   */
  fatigue: { windowDays: number; maxSends: number; minPreviousSends: number; minDrop: number };
}

export const DEFAULT_CAMPAIGN_CONFIG: CampaignConfig = {
  lookbackDays: 90,
  settleHours: 48,
  alpha: 0.05,
  power: 0.8,
  minSamplePerVariant: 100,
  minSendsPerHour: 30,
  minSendsPerSegment: 200,
  abMetric: 'open',
  fatigue: { windowDays: 28, maxSends: 8, minPreviousSends: 4, minDrop: 0.2 },
};

const positiveInt = z.number().int('must be a whole number').min(1, 'must be ≥ 1');
const probability = z.number().gt(0, 'must be between 0 and 1').lt(1, 'must be between 0 and 1');

/** The shape of `workspaces.settings.campaign_optimization`: every part optional, unknown keys rejected. */
export const campaignOverrideSchema = z.strictObject({
  lookbackDays: positiveInt.max(730, 'must be ≤ 730').optional(),
  settleHours: z.number().int().min(0, 'must be ≥ 0').max(720, 'must be ≤ 720').optional(),
  alpha: probability.max(0.5, 'must be ≤ 0.5').optional(),
  power: probability.optional(),
  minSamplePerVariant: positiveInt.optional(),
  minSendsPerHour: positiveInt.optional(),
  minSendsPerSegment: positiveInt.optional(),
  abMetric: z.enum(['open', 'click', 'reply']).optional(),
  fatigue: z
    .strictObject({
      windowDays: positiveInt.max(365, 'must be ≤ 365').optional(),
      maxSends: positiveInt.optional(),
      minPreviousSends: positiveInt.optional(),
      minDrop: probability.optional(),
    })
    .optional(),
});

/**
 * The configuration a workspace is analysed with: the defaults overridden by
 * `settings.campaign_optimization`. A bad setting is a PermanentError naming it.
 */
export function resolveCampaignConfig(settings: unknown): CampaignConfig {
  const raw =
    settings && typeof settings === 'object' ? (settings as Record<string, unknown>).campaign_optimization : undefined;
  if (raw === undefined || raw === null) return DEFAULT_CAMPAIGN_CONFIG;
  const parsed = campaignOverrideSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `settings.campaign_optimization${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`,
    );
    throw new PermanentError(`Invalid campaign optimization settings: ${problems.join('; ')}`);
  }
  const { fatigue, ...rest } = parsed.data;
  const d = DEFAULT_CAMPAIGN_CONFIG;
  return {
    ...d,
    ...definedOnly(rest),
    fatigue: { ...d.fatigue, ...definedOnly(fatigue ?? {}) },
  };
}

function definedOnly<T extends object>(o: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
