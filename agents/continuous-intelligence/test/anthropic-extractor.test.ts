import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createAnthropicExtractor,
  ExtractionFailedError,
  ProviderUnavailableError,
} from '../src/anthropic-extractor.ts';
import type { EmailForExtraction } from '../src/insight.ts';
import { type AnthropicStub, errorReply, insightJson, messageReply, startAnthropicStub } from './anthropic-stub.ts';

const PRICE = { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 };
const USAGE = { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 800, cache_creation_input_tokens: 0 };
// 1200 × 3 + 300 × 15 + 800 × 0.3 = 3600 + 4500 + 240 = 8340 millionths of a dollar.
const USAGE_COST = 0.00834;

const email: EmailForExtraction = {
  id: '00000000-0000-4000-8000-000000000001',
  direction: 'inbound',
  fromAddress: 'sarah.chen@acme-robotics.com',
  fromName: 'Sarah Chen',
  toAddresses: ['tom@ourco.com'],
  subject: 'Quick call next week?',
  bodyText: 'Hi Tom, would you be free for a call next Tuesday at 2pm? Could you send a calendar invite?',
  snippet: null,
  sentAt: new Date('2026-03-10T15:00:00Z'),
  timezone: 'America/New_York',
};

let stub: AnthropicStub;
beforeAll(async () => {
  stub = await startAnthropicStub(() => messageReply(insightJson(), USAGE));
});
afterAll(() => stub.close());
afterEach(() => {
  stub.requests.length = 0;
  stub.script.length = 0;
});

function extractor(overrides: { maxRetries?: number; onRetry?: () => void } = {}) {
  return createAnthropicExtractor({
    apiKey: 'sk-ant-test-key-123',
    baseUrl: stub.url,
    model: 'claude-sonnet-4-6',
    price: PRICE,
    maxOutputTokens: 700,
    timeoutMs: 5_000,
    structuredOutput: true,
    retry: { retries: overrides.maxRetries ?? 3, baseDelayMs: 5, maxDelayMs: 50, maxInlineWaitMs: 50 },
    onRetry: overrides.onRetry,
  });
}

describe('Anthropic extractor', () => {
  it('sends the configured model, the email text and a JSON schema, and returns the validated insight', async () => {
    const x = await extractor().extract(email, new AbortController().signal);
    expect(stub.requests).toHaveLength(1);
    const req = stub.requests[0]!;
    expect(req.body.model).toBe('claude-sonnet-4-6');
    expect(req.body.max_tokens).toBe(700);
    expect(req.headers.authorization ?? req.headers['x-api-key']).toMatch(/sk-ant-test-key-123/);
    expect(req.headers['anthropic-version']).toBeDefined();
    expect(req.body.messages[0]!.content).toContain('would you be free for a call next Tuesday at 2pm');
    expect(req.body.messages[0]!.content).toContain('Subject: Quick call next week?');
    expect(req.body.output_config?.format?.type).toBe('json_schema');
    expect(JSON.stringify(req.body.output_config?.format?.schema)).toContain('meeting_request');
    expect(x.insight.intent).toBe('meeting_request');
    expect(x.insight.companies).toEqual([{ name: 'Acme Robotics', domain: 'acme-robotics.com' }]);
    expect(x.extractor).toBe('anthropic');
  });

  it('computes the cost exactly from the reported usage and the model price', async () => {
    const x = await extractor().extract(email, new AbortController().signal);
    expect(x.usage).toEqual({ input: 1200, output: 300, cacheRead: 800, cacheWrite: 0 });
    expect(x.costUsd).toBe(USAGE_COST);

    stub.script.push(
      messageReply(insightJson(), { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 4000 }),
    );
    const y = await extractor().extract(email, new AbortController().signal);
    // 10 × 3 + 20 × 15 + 4000 × 3.75 = 30 + 300 + 15000 millionths.
    expect(y.costUsd).toBe(0.01533);
  });

  it('reports malformed output as a failed extraction that still carries its billed cost', async () => {
    stub.script.push(messageReply('{"intent": "meeting_request", "sentiment": ', USAGE));
    const err = await extractor()
      .extract(email, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractionFailedError);
    expect((err as ExtractionFailedError).message).toMatch(/malformed model output: not JSON/);
    expect((err as ExtractionFailedError).costUsd).toBe(USAGE_COST);

    stub.script.push(messageReply(insightJson({ urgency: 'critical' }), USAGE));
    const err2 = await extractor()
      .extract(email, new AbortController().signal)
      .catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/does not match the insight schema: urgency/);

    stub.script.push(messageReply(insightJson().slice(0, 40), USAGE, 'claude-sonnet-4-6', 'max_tokens'));
    const err3 = await extractor()
      .extract(email, new AbortController().signal)
      .catch((e: unknown) => e);
    expect((err3 as Error).message).toMatch(/cut off at max_tokens/);
  });

  it('backs off and retries when the API is overloaded (529) or rate limited (429)', async () => {
    let retries = 0;
    stub.script.push(
      errorReply(529, 'overloaded_error', 'Overloaded'),
      errorReply(429, 'rate_limit_error', 'Slow down', { 'retry-after-ms': '10' }),
    );
    const x = await extractor({ onRetry: () => retries++ }).extract(email, new AbortController().signal);
    expect(x.insight.intent).toBe('meeting_request');
    expect(stub.requests).toHaveLength(3);
    expect(retries).toBe(2);
  });

  it('gives up after the retry budget with ProviderUnavailableError', async () => {
    stub.script.push(...Array.from({ length: 5 }, () => errorReply(529, 'overloaded_error', 'Overloaded')));
    const err = await extractor({ maxRetries: 2 })
      .extract(email, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).status).toBe(529);
    expect(stub.requests).toHaveLength(3);
  });

  it('does not sleep through a Retry-After over the inline limit: the run stops calling the API', async () => {
    let retries = 0;
    stub.script.push(errorReply(429, 'rate_limit_error', 'Slow down', { 'retry-after': '60' }));
    const err = await extractor({ onRetry: () => retries++ })
      .extract(email, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).status).toBe(429);
    expect((err as Error).message).toMatch(/returned 429 and asks to wait 60 s \(over INTELLIGENCE_RETRY_MAX_MS\)/);
    expect(stub.requests).toHaveLength(1);
    expect(retries).toBe(0);
  });

  it('treats a rejected key as the provider being unavailable for the run, naming the variable', async () => {
    stub.script.push(errorReply(401, 'authentication_error', 'invalid x-api-key'));
    const err = await extractor()
      .extract(email, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as Error).message).toMatch(/ANTHROPIC_API_KEY/);
    expect(stub.requests).toHaveLength(1);
  });

  it('stops waiting as soon as the job is aborted during a backoff', async () => {
    stub.script.push(errorReply(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': '20000' }));
    const ac = new AbortController();
    const slow = createAnthropicExtractor({
      apiKey: 'k',
      baseUrl: stub.url,
      model: 'claude-sonnet-4-6',
      price: PRICE,
      maxOutputTokens: 700,
      timeoutMs: 5_000,
      structuredOutput: true,
      retry: { retries: 3, baseDelayMs: 5, maxDelayMs: 60_000, maxInlineWaitMs: 60_000 },
      onRetry: () => ac.abort(new Error('cancelled by test')),
    });
    const started = Date.now();
    const err = await slow.extract(email, ac.signal).catch((e: unknown) => e);
    expect((err as Error).message).toBe('cancelled by test');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stub.requests).toHaveLength(1);
  });

  it('estimates a worst-case cost above what a call actually costs', () => {
    const estimate = extractor().estimateMaxCostUsd(email);
    // max_tokens of output alone: 700 × 15 / 1e6
    expect(estimate).toBeGreaterThan(0.0105);
    expect(estimate).toBeLessThan(0.05);
  });
});
