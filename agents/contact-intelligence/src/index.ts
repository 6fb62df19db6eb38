import { defineAgent } from '@fleet/runtime';
import { runContactEnrichment } from './contact-enrichment.ts';
import { contactIntelligenceEnv, refineContactIntelligenceEnv } from './env.ts';
import { createHttpEnrichmentProvider } from './http-enrichment-provider.ts';
import { runLeadScoring } from './lead-scoring.ts';

/** contact_intelligence_queue worker: lead scoring and contact enrichment, mostly in Postgres. */
export default defineAgent({
  name: 'contact-intelligence',
  queue: 'contact_intelligence_queue',
  // Jobs are Postgres-bound; two at once keeps a workspace-wide run from starving the pool.
  concurrency: 2,
  env: contactIntelligenceEnv,
  refineEnv: refineContactIntelligenceEnv,
  setup({ env, log }) {
    const provider =
      env.ENRICHMENT_PROVIDER === 'http'
        ? createHttpEnrichmentProvider({
            baseUrl: env.ENRICHMENT_BASE_URL!,
            apiKey: env.ENRICHMENT_API_KEY!,
            timeoutMs: env.ENRICHMENT_TIMEOUT_MS,
            costPerMatchUsd: env.ENRICHMENT_COST_PER_MATCH_USD,
          })
        : null;
    log.info({ enrichmentProvider: provider?.name ?? 'none' }, 'contact intelligence configured');
    return { env, provider };
  },
  handlers: {
    async lead_scoring_batch(payload, ctx) {
      const result = await runLeadScoring(
        ctx.db,
        ctx.log,
        { workspaceId: payload.workspace_id, contactIds: payload.contact_ids },
        {
          chunkSize: ctx.deps.env.LEAD_SCORING_CHUNK_SIZE,
          signal: ctx.signal,
          onProgress: (done) => ctx.progress({ done }),
        },
      );
      return { output: result.output, status: result.status, error: result.error, costUsd: 0 };
    },
    async contact_enrichment(payload, ctx) {
      const { env, provider } = ctx.deps;
      const result = await runContactEnrichment(
        ctx.db,
        ctx.log,
        { workspaceId: payload.workspace_id, contactIds: payload.contact_ids },
        {
          provider,
          defaultCountry: env.ENRICHMENT_DEFAULT_COUNTRY?.toUpperCase() ?? null,
          refreshDays: env.ENRICHMENT_REFRESH_DAYS,
          concurrency: env.ENRICHMENT_CONCURRENCY,
          signal: ctx.signal,
          onProgress: (done) => ctx.progress({ done }),
        },
      );
      return { output: result.output, status: result.status, error: result.error, costUsd: result.costUsd };
    },
  },
});
