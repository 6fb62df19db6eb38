/**
 * Model prices, in US dollars per million tokens, in one place. Override or extend with
 * INTELLIGENCE_MODEL_PRICING (JSON, same shape); an LLM model without a price is refused at start,
 * since its cost could be neither tracked nor capped.
 */
import { z } from 'zod';
import type { TokenUsage } from './insight.ts';

export const modelPriceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  /** Prompt-cache reads; 10% of input on Anthropic's list. */
  cache_read: z.number().nonnegative(),
  /** Prompt-cache writes (5-minute TTL); 125% of input. Defaults to 1.25 × input when omitted. */
  cache_write: z.number().nonnegative().optional(),
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type PricingTable = Record<string, ModelPrice>;

/** Anthropic list prices (USD per million tokens). */
export const DEFAULT_PRICING: PricingTable = {
  'claude-opus-4-6': { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 },
  'claude-opus-4-5': { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 },
  'claude-opus-4-1': { input: 15, output: 75, cache_read: 1.5, cache_write: 18.75 },
  'claude-opus-4-0': { input: 15, output: 75, cache_read: 1.5, cache_write: 18.75 },
  'claude-sonnet-4-6': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
  'claude-sonnet-4-5': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
  'claude-sonnet-4-0': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
  'claude-haiku-4-5': { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cache_read: 0.08, cache_write: 1 },
};

export const pricingOverrideSchema = z.record(z.string().min(1), modelPriceSchema);

/** Parses the INTELLIGENCE_MODEL_PRICING JSON; throws with the offending model and field. */
export function parsePricingOverride(json: string): PricingTable {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`INTELLIGENCE_MODEL_PRICING is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = pricingOverrideSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ');
    throw new Error(
      `INTELLIGENCE_MODEL_PRICING must map model ids to {input, output, cache_read[, cache_write]} in USD per million tokens: ${problems}`,
    );
  }
  return parsed.data;
}

/**
 * The price of `model`. Dated snapshots ("claude-haiku-4-5-20251001") and "-latest" aliases fall
 * back to their family's entry when they have none of their own.
 */
export function priceFor(table: PricingTable, model: string): ModelPrice | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  const family = model.replace(/-(\d{8}|latest)$/, '');
  if (Object.hasOwn(table, family)) return table[family];
  // "claude-sonnet-4" and "claude-opus-4" are the 4.0 models.
  if (Object.hasOwn(table, `${family}-0`)) return table[`${family}-0`];
  return undefined;
}

const PER_TOKEN = 1 / 1_000_000;

/**
 * Cost of one call. `input` is the uncached input only (as the Messages API reports it); cache
 * reads and writes are billed at their own rates. Rounded to 1e-9 dollars so sums of many
 * calls stay exact at the audit table's numeric(12, 6) precision.
 */
export function costOf(price: ModelPrice, usage: TokenUsage): number {
  const cacheWrite = price.cache_write ?? price.input * 1.25;
  const dollars =
    usage.input * price.input * PER_TOKEN +
    usage.output * price.output * PER_TOKEN +
    usage.cacheRead * price.cache_read * PER_TOKEN +
    usage.cacheWrite * cacheWrite * PER_TOKEN;
  return roundUsd(dollars);
}

/** Rounds to 1e-9 USD to keep floating-point noise out of stored sums. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
