/** Builds the agent's extractors and settings from its environment. */
import { ConfigError } from '@fleet/config';
import type { Logger } from 'pino';
import { createAnthropicExtractor } from './anthropic-extractor.ts';
import { type AgentEnv, usesLlm } from './env.ts';
import { createHeuristicExtractor } from './heuristic-extractor.ts';
import { DEFAULT_PRICING, priceFor } from './pricing.ts';
import type { IntelligenceDeps } from './run-update.ts';

export function buildDeps(env: AgentEnv, log: Logger): IntelligenceDeps {
  const apiKey = env.ANTHROPIC_API_KEY?.trim() || undefined;
  const useLlm = usesLlm(env);
  const common = {
    heuristic: createHeuristicExtractor(),
    defaultMonthlyBudgetUsd: env.INTELLIGENCE_MONTHLY_BUDGET_USD,
    leaseMs: env.INTELLIGENCE_LEASE_MS,
    maxAttempts: env.INTELLIGENCE_EMAIL_MAX_ATTEMPTS,
  };
  if (!useLlm) {
    log.info('no ANTHROPIC_API_KEY: using the offline heuristic extractor');
    return { ...common, llm: null };
  }
  // refineIntelligenceEnv reports both problems at start; these guard direct callers.
  if (!apiKey) {
    throw new ConfigError('continuous-intelligence', [
      'ANTHROPIC_API_KEY: is not set: INTELLIGENCE_PROVIDER=anthropic needs ANTHROPIC_API_KEY (or use INTELLIGENCE_PROVIDER=auto)',
    ]);
  }
  const pricing = { ...DEFAULT_PRICING, ...env.INTELLIGENCE_MODEL_PRICING };
  const price = priceFor(pricing, env.INTELLIGENCE_MODEL);
  if (!price) {
    throw new ConfigError('continuous-intelligence', [
      `INTELLIGENCE_MODEL_PRICING: INTELLIGENCE_MODEL ${env.INTELLIGENCE_MODEL} has no price, so its cost could not be tracked or capped; ` +
        `add it to INTELLIGENCE_MODEL_PRICING, e.g. {"${env.INTELLIGENCE_MODEL}": {"input": 3, "output": 15, "cache_read": 0.3}}`,
    ]);
  }
  const llm = createAnthropicExtractor({
    apiKey,
    baseUrl: env.ANTHROPIC_BASE_URL,
    model: env.INTELLIGENCE_MODEL,
    price,
    maxOutputTokens: env.INTELLIGENCE_MAX_OUTPUT_TOKENS,
    timeoutMs: env.INTELLIGENCE_REQUEST_TIMEOUT_MS,
    structuredOutput: env.INTELLIGENCE_STRUCTURED_OUTPUT,
    retry: {
      retries: env.INTELLIGENCE_MAX_RETRIES,
      baseDelayMs: env.INTELLIGENCE_RETRY_BASE_MS,
      maxDelayMs: env.INTELLIGENCE_RETRY_MAX_MS,
      maxInlineWaitMs: env.INTELLIGENCE_RETRY_MAX_MS,
    },
    onRetry: (info) => log.warn(info, 'Anthropic API busy; backing off'),
  });
  log.info({ model: env.INTELLIGENCE_MODEL, baseUrl: env.ANTHROPIC_BASE_URL, price }, 'using the Anthropic extractor');
  return { ...common, llm };
}
