import { nonNegativeNumber, positiveInt } from '@fleet/config';
import { z } from 'zod';

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an http(s) URL' });

/** The agent's environment variables (parsed by the runtime together with its own). */
export const contactIntelligenceEnv = {
  // External enrichment provider (Clearbit Combined wire format); 'none' keeps enrichment offline.
  ENRICHMENT_PROVIDER: z.enum(['none', 'http'], { error: 'must be none or http' }).default('none'),
  /** Provider root; /v2/combined/find is appended. Required when ENRICHMENT_PROVIDER=http. */
  ENRICHMENT_BASE_URL: httpUrl.optional(),
  /** Bearer token for the provider. Required when ENRICHMENT_PROVIDER=http. */
  ENRICHMENT_API_KEY: z.string().min(1, 'must not be empty').optional(),
  /** USD billed per lookup that finds a person; becomes the job's cost_estimate_usd. */
  ENRICHMENT_COST_PER_MATCH_USD: nonNegativeNumber.default(0),
  /** Cap on one provider request. */
  ENRICHMENT_TIMEOUT_MS: positiveInt.default(10_000),
  /** Provider lookups in flight at once per job. */
  ENRICHMENT_CONCURRENCY: positiveInt.max(32, 'must be at most 32').default(4),
  /** A contact the provider answered for is not looked up again for this many days. */
  ENRICHMENT_REFRESH_DAYS: positiveInt.default(30),
  /** Country (ISO 3166 alpha-2) for phone numbers without a country code, unless the workspace sets one. */
  ENRICHMENT_DEFAULT_COUNTRY: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code such as US')
    .optional(),
  /** Contacts per scoring transaction. */
  LEAD_SCORING_CHUNK_SIZE: positiveInt.max(10_000, 'must be at most 10000').default(1_000),
};

export type ContactIntelligenceEnv = z.output<z.ZodObject<typeof contactIntelligenceEnv>>;

/**
 * ENRICHMENT_PROVIDER=http sends contacts to an outside service: it needs that service's URL and
 * key. Reported with every other configuration problem (the agent exits 78).
 */
export function refineContactIntelligenceEnv(env: ContactIntelligenceEnv, ctx: z.RefinementCtx): void {
  if (env.ENRICHMENT_PROVIDER !== 'http') return;
  for (const variable of ['ENRICHMENT_BASE_URL', 'ENRICHMENT_API_KEY'] as const) {
    if (env[variable]) continue;
    ctx.addIssue({
      code: 'custom',
      path: [variable],
      message: 'is not set: ENRICHMENT_PROVIDER=http needs ENRICHMENT_BASE_URL and ENRICHMENT_API_KEY',
    });
  }
}
