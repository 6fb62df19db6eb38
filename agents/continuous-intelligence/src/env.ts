/** The agent's own environment variables (the runtime's are added by @fleet/runtime). */
import { booleanFlag, nonNegativeNumber, positiveInt } from '@fleet/config';
import { z } from 'zod';
import { DEFAULT_PRICING, type PricingTable, parsePricingOverride, priceFor } from './pricing.ts';

export const envShape = {
  // --- LLM provider (Anthropic Messages API) ---
  /** Unset or empty: the offline heuristic extractor is used, at no cost. */
  ANTHROPIC_API_KEY: z.string().optional(),
  /** A gateway or proxy speaking the Messages API. */
  ANTHROPIC_BASE_URL: z.url({ error: 'must be an http(s) URL' }).default('https://api.anthropic.com'),
  /** auto: Anthropic when a key is set, else heuristic. */
  INTELLIGENCE_PROVIDER: z
    .enum(['auto', 'anthropic', 'heuristic'], { error: 'must be auto, anthropic or heuristic' })
    .default('auto'),
  INTELLIGENCE_MODEL: z.string().min(1, 'must name a model').default('claude-haiku-4-5'),
  INTELLIGENCE_MAX_OUTPUT_TOKENS: positiveInt.default(1024),
  /** Schema-constrained output; turn off for models without structured-output support. */
  INTELLIGENCE_STRUCTURED_OUTPUT: booleanFlag.default(true),
  INTELLIGENCE_REQUEST_TIMEOUT_MS: positiveInt.default(60_000),
  /** Retries of one call on 429/529/5xx/connection errors, with exponential backoff. */
  INTELLIGENCE_MAX_RETRIES: z.coerce.number({ error: 'must be a number' }).int().min(0).max(10).default(4),
  INTELLIGENCE_RETRY_BASE_MS: positiveInt.default(1_000),
  /** Longest wait slept inside the job; a longer Retry-After leaves the rest of the emails to the next run. */
  INTELLIGENCE_RETRY_MAX_MS: positiveInt.default(5_000),
  /** JSON {"model": {"input": 1, "output": 5, "cache_read": 0.1}} in USD per million tokens. */
  INTELLIGENCE_MODEL_PRICING: z
    .string()
    .optional()
    .transform((v, ctx): PricingTable => {
      if (v === undefined || v.trim() === '') return {};
      try {
        return parsePricingOverride(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^INTELLIGENCE_MODEL_PRICING /, '') });
        return z.NEVER;
      }
    }),
  // --- Budget and bookkeeping ---
  /** Monthly LLM budget of a workspace whose settings.monthly_ai_budget_usd is unset. */
  INTELLIGENCE_MONTHLY_BUDGET_USD: nonNegativeNumber.default(25),
  /** Failed extractions after which an email is left alone. */
  INTELLIGENCE_EMAIL_MAX_ATTEMPTS: positiveInt.default(5),
  /** How long a run reserves the emails it claimed (a crashed run's emails return after it). */
  INTELLIGENCE_LEASE_MS: positiveInt.default(10 * 60_000),
};

export type AgentEnv = z.output<z.ZodObject<typeof envShape>>;

/** Whether the Anthropic extractor runs: asked for, or `auto` with a key. */
export function usesLlm(env: AgentEnv): boolean {
  const key = env.ANTHROPIC_API_KEY?.trim();
  return env.INTELLIGENCE_PROVIDER === 'anthropic' || (env.INTELLIGENCE_PROVIDER === 'auto' && Boolean(key));
}

/**
 * Rules between variables, reported with every other configuration problem (exit 78): the
 * Anthropic extractor needs its key, and a model whose cost could be neither tracked nor capped
 * is refused.
 */
export function refineIntelligenceEnv(env: AgentEnv, ctx: z.RefinementCtx): void {
  if (!usesLlm(env)) return;
  if (!env.ANTHROPIC_API_KEY?.trim()) {
    ctx.addIssue({
      code: 'custom',
      path: ['ANTHROPIC_API_KEY'],
      message:
        'is not set: INTELLIGENCE_PROVIDER=anthropic needs ANTHROPIC_API_KEY (or use INTELLIGENCE_PROVIDER=auto)',
    });
  }
  if (!priceFor({ ...DEFAULT_PRICING, ...env.INTELLIGENCE_MODEL_PRICING }, env.INTELLIGENCE_MODEL)) {
    ctx.addIssue({
      code: 'custom',
      path: ['INTELLIGENCE_MODEL_PRICING'],
      message:
        `has no price for INTELLIGENCE_MODEL ${env.INTELLIGENCE_MODEL}, so its cost could not be tracked or capped; ` +
        `add it, e.g. {"${env.INTELLIGENCE_MODEL}": {"input": 3, "output": 15, "cache_read": 0.3}}`,
    });
  }
}
