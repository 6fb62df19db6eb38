/**
 * The LLM path speaks the same language as the rules: its request carries the insight schema
 * (with the decline intent) and instructions stating the corpus conventions, and an answer in
 * those terms validates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCorpus, toExtractionInput } from '../eval/corpus.ts';
import { createAnthropicExtractor } from '../src/anthropic-extractor.ts';
import { BUYING_INTENTS, NEGATIVE_INTENTS } from '../src/insight.ts';
import { renderEmail, SYSTEM_PROMPT } from '../src/prompt.ts';
import { type AnthropicStub, insightJson, messageReply, startAnthropicStub } from './anthropic-stub.ts';

let stub: AnthropicStub;
beforeAll(async () => {
  stub = await startAnthropicStub(() =>
    messageReply(
      insightJson({
        intent: 'not_interested',
        intents: ['not_interested'],
        sentiment: 'negative',
        sentiment_score: -0.5,
        urgency: 'low',
        action_items: [],
        mentioned_dates: [],
      }),
      { input_tokens: 100, output_tokens: 50 },
    ),
  );
});
afterAll(() => stub.close());

describe('the LLM prompt', () => {
  it('names the negative intents, the past-tense rule, ownership and outbound mail', () => {
    for (const intent of [...NEGATIVE_INTENTS, ...BUYING_INTENTS]) expect(SYSTEM_PROMPT).toContain(intent);
    expect(SYSTEM_PROMPT).toContain('A deal lost on price is not_interested, never pricing_inquiry');
    expect(SYSTEM_PROMPT).toContain('mentioned in the past tense');
    expect(SYSTEM_PROMPT).toContain('"I need a root cause analysis by Thursday"');
    expect(SYSTEM_PROMPT).toContain('the most recent such day before the sent day');
    expect(SYSTEM_PROMPT).toContain('For outbound email');
  });

  it('sends a lost deal without its quoted history, with not_interested in the schema, and accepts the answer', async () => {
    const lost = loadCorpus(['tune']).find((e) => e.id === 'lost-01')!;
    const email = toExtractionInput(lost);
    expect(renderEmail(email)).not.toContain('revised quote with the 3-year pricing');

    const x = await createAnthropicExtractor({
      apiKey: 'sk-ant-prompt-test',
      baseUrl: stub.url,
      model: 'claude-haiku-4-5',
      price: { input: 1, output: 5, cache_read: 0.1 },
      maxOutputTokens: 1024,
      timeoutMs: 5_000,
      structuredOutput: true,
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxInlineWaitMs: 1 },
    }).extract(email, new AbortController().signal);

    const req = stub.requests[0]!;
    expect(JSON.stringify(req.body.system)).toContain('not_interested');
    expect(JSON.stringify(req.body.output_config?.format?.schema)).toContain('not_interested');
    expect(req.body.messages[0]!.content).toContain('Direction: inbound');
    expect(x.insight).toMatchObject({ intent: 'not_interested', sentiment: 'negative' });
  });
});
