/**
 * How an extractor's insights compare with the corpus labels: accuracy and per-class figures for
 * intent and sentiment, date precision/recall/F1, action-item owners, and the one mistake that
 * must never happen (a declining or angry contact read as a buyer).
 */
import { BUYING_INTENTS, INTENTS, type Insight, type Intent, NEGATIVE_INTENTS, SENTIMENTS } from '../src/insight.ts';
import type { CorpusEmail } from './corpus.ts';

const NEGATIVE: ReadonlySet<Intent> = new Set(NEGATIVE_INTENTS);
const BUYING: ReadonlySet<Intent> = new Set(BUYING_INTENTS);

export interface ClassFigures {
  support: number;
  predicted: number;
  correct: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Mistake {
  id: string;
  field: 'intent' | 'sentiment' | 'urgency' | 'owners' | 'dates' | 'negative_as_buying';
  expected: string;
  got: string;
}

export interface Measurement {
  emails: number;
  intent: {
    accuracy: number;
    perClass: Record<string, ClassFigures>;
    confusion: Record<string, Record<string, number>>;
  };
  sentiment: {
    accuracy: number;
    perClass: Record<string, ClassFigures>;
    confusion: Record<string, Record<string, number>>;
  };
  urgency: { accuracy: number };
  dates: { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number; timeAccuracy: number };
  /** Emails whose set of action-item owners is exactly the labelled one. */
  owners: { accuracy: number; itemRecall: number; items: number };
  /** Negative emails whose main intent (or any intent) came out as a buying intent. */
  negativeAsBuying: { primary: string[]; any: string[] };
  mistakes: Mistake[];
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

function classFigures(
  labels: readonly string[],
  pairs: Array<{ expected: string; got: string }>,
): { accuracy: number; perClass: Record<string, ClassFigures>; confusion: Record<string, Record<string, number>> } {
  const perClass: Record<string, ClassFigures> = {};
  const confusion: Record<string, Record<string, number>> = {};
  for (const label of labels) {
    const support = pairs.filter((p) => p.expected === label).length;
    const predicted = pairs.filter((p) => p.got === label).length;
    const correct = pairs.filter((p) => p.expected === label && p.got === label).length;
    if (support === 0 && predicted === 0) continue;
    const precision = ratio(correct, predicted);
    const recall = ratio(correct, support);
    perClass[label] = { support, predicted, correct, precision, recall, f1: f1Of(precision, recall) };
  }
  for (const { expected, got } of pairs) {
    confusion[expected] ??= {};
    confusion[expected]![got] = (confusion[expected]![got] ?? 0) + 1;
  }
  const correct = pairs.filter((p) => p.expected === p.got).length;
  return { accuracy: ratio(correct, pairs.length), perClass, confusion };
}

const ownersKey = (owners: Iterable<string>) => [...new Set(owners)].sort().join('+') || 'none';

/** Compares each insight with its email's labels. */
export function measure(cases: Array<{ email: CorpusEmail; insight: Insight }>): Measurement {
  const mistakes: Mistake[] = [];
  const intentPairs = cases.map(({ email, insight }) => ({ expected: email.expect.intent, got: insight.intent }));
  const sentimentPairs = cases.map(({ email, insight }) => ({
    expected: email.expect.sentiment,
    got: insight.sentiment,
  }));
  let urgencyRight = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let timed = 0;
  let timedRight = 0;
  let ownersRight = 0;
  let items = 0;
  let itemsFound = 0;
  const primary: string[] = [];
  const any: string[] = [];

  for (const { email, insight } of cases) {
    const x = email.expect;
    const note = (field: Mistake['field'], expected: string, got: string) =>
      mistakes.push({ id: email.id, field, expected, got });
    if (x.intent !== insight.intent) note('intent', x.intent, insight.intent);
    if (x.sentiment !== insight.sentiment)
      note('sentiment', x.sentiment, `${insight.sentiment} (${insight.sentiment_score})`);
    if (x.urgency === insight.urgency) urgencyRight++;
    else note('urgency', x.urgency, insight.urgency);

    // Dates: the set of days, per email; a time is checked where the label gives one.
    const gold = new Map(x.dates.map((d) => [d.slice(0, 10), d.length > 10 ? d.slice(11) : null]));
    const got = new Map<string, Set<string | null>>();
    for (const d of insight.mentioned_dates) {
      if (!got.has(d.date)) got.set(d.date, new Set());
      got.get(d.date)!.add(d.time);
    }
    const hit = [...gold.keys()].filter((d) => got.has(d));
    tp += hit.length;
    fn += gold.size - hit.length;
    fp += [...got.keys()].filter((d) => !gold.has(d)).length;
    for (const d of hit) {
      const time = gold.get(d);
      if (time == null) continue;
      timed++;
      if (got.get(d)!.has(time)) timedRight++;
    }
    const goldDays = [...gold.keys()].sort().join(', ');
    const gotDays = [...got.keys()].sort().join(', ');
    if (goldDays !== gotDays) note('dates', goldDays || 'none', gotDays || 'none');

    const expectedOwners = ownersKey(x.actions.map((a) => a.owner));
    const gotOwners = ownersKey(insight.action_items.filter((a) => a.owner !== 'unknown').map((a) => a.owner));
    if (expectedOwners === gotOwners) ownersRight++;
    else
      note(
        'owners',
        expectedOwners,
        `${gotOwners}: ${insight.action_items.map((a) => `[${a.owner}] ${a.description}`).join(' | ')}`,
      );
    for (const a of x.actions) {
      items++;
      const says = a.says.toLowerCase();
      if (insight.action_items.some((i) => i.owner === a.owner && i.description.toLowerCase().includes(says)))
        itemsFound++;
    }

    if (NEGATIVE.has(x.intent)) {
      if (BUYING.has(insight.intent)) {
        primary.push(email.id);
        note('negative_as_buying', x.intent, insight.intent);
      }
      if (insight.intents.some((i) => BUYING.has(i))) any.push(email.id);
    }
  }

  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    emails: cases.length,
    intent: classFigures(INTENTS, intentPairs),
    sentiment: classFigures(SENTIMENTS, sentimentPairs),
    urgency: { accuracy: ratio(urgencyRight, cases.length) },
    dates: { tp, fp, fn, precision, recall, f1: f1Of(precision, recall), timeAccuracy: ratio(timedRight, timed) },
    owners: { accuracy: ratio(ownersRight, cases.length), itemRecall: ratio(itemsFound, items), items },
    negativeAsBuying: { primary, any },
    mistakes,
  };
}
