import { ConfigError, parseEnv } from '@fleet/config';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildDeps } from '../src/deps.ts';
import { envShape, refineIntelligenceEnv } from '../src/env.ts';
import { costOf, DEFAULT_PRICING, priceFor } from '../src/pricing.ts';

const log = pino({ level: 'silent' });
const parse = (env: Record<string, string>) => parseEnv('continuous-intelligence', z.object(envShape), env);

describe('configuration', () => {
  it('works out of the box without an API key, on the free heuristic extractor', () => {
    const deps = buildDeps(parse({}), log);
    expect(deps.llm).toBeNull();
    expect(deps.heuristic.model).toBe('heuristic-v2');
    expect(deps.defaultMonthlyBudgetUsd).toBe(25);
    // An empty key (a blank line in .env) means "not set" as well.
    expect(buildDeps(parse({ ANTHROPIC_API_KEY: '  ' }), log).llm).toBeNull();
  });

  it('uses the LLM when a key is set, with the configured model', () => {
    const deps = buildDeps(
      parse({ ANTHROPIC_API_KEY: 'sk-ant-x', INTELLIGENCE_MODEL: 'claude-haiku-4-5-20251001' }),
      log,
    );
    expect(deps.llm?.kind).toBe('anthropic');
    expect(deps.llm?.model).toBe('claude-haiku-4-5-20251001');
  });

  it('refuses an LLM model without a price and names the variable that fixes it', () => {
    expect(() => buildDeps(parse({ ANTHROPIC_API_KEY: 'k', INTELLIGENCE_MODEL: 'claude-next-9' }), log)).toThrow(
      /claude-next-9 has no price.*INTELLIGENCE_MODEL_PRICING/,
    );
    const priced = parse({
      ANTHROPIC_API_KEY: 'k',
      INTELLIGENCE_MODEL: 'claude-next-9',
      INTELLIGENCE_MODEL_PRICING: '{"claude-next-9": {"input": 4, "output": 20, "cache_read": 0.4}}',
    });
    expect(buildDeps(priced, log).llm?.model).toBe('claude-next-9');
  });

  it('lists every bad variable at once', () => {
    let err: unknown;
    try {
      parse({
        INTELLIGENCE_MODEL_PRICING: '{"m": {"input": -1, "output": 1}}',
        INTELLIGENCE_MONTHLY_BUDGET_USD: 'lots',
        INTELLIGENCE_PROVIDER: 'openai',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/INTELLIGENCE_MODEL_PRICING: .*m\.input/);
    expect(problems).toMatch(/INTELLIGENCE_MONTHLY_BUDGET_USD/);
    expect(problems).toMatch(/INTELLIGENCE_PROVIDER: must be auto, anthropic or heuristic/);
    expect(() => buildDeps(parse({ INTELLIGENCE_PROVIDER: 'anthropic' }), log)).toThrow(/needs ANTHROPIC_API_KEY/);
  });

  it('reports provider rules at start with every other problem, naming the variable to set', () => {
    const schema = z.object(envShape).superRefine(refineIntelligenceEnv);
    let err: unknown;
    try {
      parseEnv('continuous-intelligence', schema, {
        INTELLIGENCE_PROVIDER: 'anthropic',
        INTELLIGENCE_MODEL: 'claude-next-9',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems[0]).toMatch(
      /^ANTHROPIC_API_KEY: is not set: INTELLIGENCE_PROVIDER=anthropic needs ANTHROPIC_API_KEY/,
    );
    expect(problems[1]).toMatch(/^INTELLIGENCE_MODEL_PRICING: has no price for INTELLIGENCE_MODEL claude-next-9/);
    // A set but malformed number says what it got instead of "not set".
    expect(() => parseEnv('continuous-intelligence', schema, { INTELLIGENCE_MONTHLY_BUDGET_USD: 'abc' })).toThrow(
      "INTELLIGENCE_MONTHLY_BUDGET_USD: must be a number, got 'abc'",
    );
    // The heuristic extractor needs neither.
    expect(
      parseEnv('continuous-intelligence', schema, { INTELLIGENCE_MODEL: 'claude-next-9' }).INTELLIGENCE_MODEL,
    ).toBe('claude-next-9');
  });

  it('prices dated snapshots by their family and defaults cache writes to 1.25 × input', () => {
    expect(priceFor(DEFAULT_PRICING, 'claude-haiku-4-5-20251001')).toEqual(DEFAULT_PRICING['claude-haiku-4-5']);
    expect(priceFor(DEFAULT_PRICING, 'claude-unknown')).toBeUndefined();
    expect(
      costOf({ input: 2, output: 10, cache_read: 0.2 }, { input: 0, output: 0, cacheRead: 0, cacheWrite: 1_000_000 }),
    ).toBe(2.5);
  });
});
