/**
 * The least the heuristic extractor must score on the corpus, on each part. The tuning part
 * and the held-out part share the targets; a change that only helps the tuning part shows up as
 * a held-out failure.
 */
import type { Split } from './corpus.ts';
import type { Measurement } from './measure.ts';

export interface Floors {
  intentAccuracy: number;
  sentimentAccuracy: number;
  dateF1: number;
  ownerAccuracy: number;
  /** Negative emails (decline, unsubscribe, cancellation, complaint) read as buying: none. */
  negativeAsBuying: 0;
}

export const FLOORS: Record<Split, Floors> = {
  tune: { intentAccuracy: 0.85, sentimentAccuracy: 0.85, dateF1: 0.85, ownerAccuracy: 0.85, negativeAsBuying: 0 },
  'held-out': { intentAccuracy: 0.85, sentimentAccuracy: 0.85, dateF1: 0.85, ownerAccuracy: 0.8, negativeAsBuying: 0 },
};

/** Every floor a measurement misses, as "intent accuracy 0.81 < 0.85". */
export function missedFloors(m: Measurement, f: Floors): string[] {
  const missed: string[] = [];
  const check = (name: string, value: number, floor: number) => {
    if (value < floor) missed.push(`${name} ${value.toFixed(3)} < ${floor}`);
  };
  check('intent accuracy', m.intent.accuracy, f.intentAccuracy);
  check('sentiment accuracy', m.sentiment.accuracy, f.sentimentAccuracy);
  check('date F1', m.dates.f1, f.dateF1);
  check('owner accuracy', m.owners.accuracy, f.ownerAccuracy);
  const negatives = new Set([...m.negativeAsBuying.primary, ...m.negativeAsBuying.any]);
  if (negatives.size > f.negativeAsBuying) missed.push(`negative emails read as buying: ${[...negatives].join(', ')}`);
  return missed;
}
