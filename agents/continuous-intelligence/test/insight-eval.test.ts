/**
 * The heuristic extractor against the labelled corpus (eval/): every floor of eval/floors.ts on
 * the tuning part and on the held-out part, and no declining or angry contact read as a buyer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCorpus } from '../eval/corpus.ts';
import { type Evaluation, evaluateExtractor } from '../eval/evaluate.ts';
import { FLOORS, missedFloors } from '../eval/floors.ts';
import { createHeuristicExtractor, HEURISTIC_MODEL } from '../src/heuristic-extractor.ts';
import { INTENTS } from '../src/insight.ts';

let evaluation: Evaluation;
beforeAll(async () => {
  evaluation = await evaluateExtractor(createHeuristicExtractor());
});

describe('the evaluation corpus', () => {
  it('holds at least 150 emails, about 30% of them held out, covering every intent both ways', () => {
    const corpus = loadCorpus();
    const held = corpus.filter((e) => e.split === 'held-out');
    expect(corpus.length).toBeGreaterThanOrEqual(150);
    expect(held.length / corpus.length).toBeGreaterThanOrEqual(0.25);
    expect(new Set(corpus.map((e) => e.expect.intent))).toEqual(new Set(INTENTS));
    expect(corpus.filter((e) => e.direction === 'outbound').length).toBeGreaterThanOrEqual(20);
    // Past-tense and relative dates are part of what is measured.
    expect(corpus.filter((e) => e.expect.dates.length > 0).length).toBeGreaterThanOrEqual(80);
  });
});

describe(`${HEURISTIC_MODEL} on the corpus`, () => {
  it.each(['tune', 'held-out'] as const)('meets every floor on the %s part', (split) => {
    expect(missedFloors(evaluation.bySplit[split], FLOORS[split])).toEqual([]);
  });

  it('never reads a decline, unsubscribe, cancellation or complaint as buying interest', () => {
    expect(evaluation.all.negativeAsBuying).toEqual({ primary: [], any: [] });
  });

  it('reads the mail the rules used to get wrong', () => {
    const byId = new Map(evaluation.cases.map((c) => [c.email.id, c.insight]));
    // "We've decided to go with another vendor… Price was the main factor."
    expect(byId.get('lost-01')).toMatchObject({ intent: 'not_interested', sentiment: 'negative' });
    expect(byId.get('lost-01')!.intents).not.toContain('pricing_inquiry');
    expect(byId.get('unsub-01')).toMatchObject({ intent: 'unsubscribe', intents: ['unsubscribe'] });
    // "I need a root cause analysis by Thursday": ours to deliver.
    expect(byId.get('complaint-01')!.action_items).toContainEqual(
      expect.objectContaining({ owner: 'us', due_date: '2026-03-26' }),
    );
    // "down for almost three hours on Tuesday morning", written on Thursday 19 March.
    expect(byId.get('complaint-01')!.mentioned_dates.map((d) => d.date)).toContain('2026-03-17');
    // "great demo yesterday… start a pilot".
    expect(byId.get('demo-03')).toMatchObject({ intent: 'purchase_intent', sentiment: 'positive' });
  });
});
