/** The evaluation as text: headline figures side by side, per-class tables, confusion tables. */
import { INTENTS, SENTIMENTS } from '../src/insight.ts';
import type { Split } from './corpus.ts';
import type { Measurement, Mistake } from './measure.ts';

const f2 = (n: number) => n.toFixed(2);
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** Short column heads for the intent confusion table. */
const CODE: Record<string, string> = {
  meeting_request: 'meet',
  pricing_inquiry: 'price',
  demo_request: 'demo',
  purchase_intent: 'buy',
  support_issue: 'supp',
  complaint: 'compl',
  cancellation: 'cancl',
  unsubscribe: 'unsub',
  not_interested: 'noint',
  billing: 'bill',
  follow_up: 'fllw',
  introduction: 'intro',
  partnership: 'partn',
  feedback: 'fdbk',
  out_of_office: 'ooo',
  information_request: 'info',
  other: 'other',
};

export interface ReportInput {
  model: string;
  runtimeMs: number;
  bySplit: Record<Split, Measurement>;
  all: Measurement;
  show: Split[];
}

export function formatReport(r: ReportInput): string {
  const out: string[] = [];
  const { tune, 'held-out': held } = r.bySplit;
  const all = r.all;
  out.push(`Insight extractor evaluation: ${r.model}`);
  out.push(
    `corpus: ${tune.emails} tune + ${held.emails} held-out emails; extraction took ${r.runtimeMs.toFixed(0)} ms ` +
      `(${(r.runtimeMs / Math.max(1, all.emails)).toFixed(2)} ms per email)`,
  );
  out.push('');
  const rows: Array<[string, (m: Measurement) => string]> = [
    ['intent accuracy', (m) => f2(m.intent.accuracy)],
    ['sentiment accuracy', (m) => f2(m.sentiment.accuracy)],
    ['urgency accuracy', (m) => f2(m.urgency.accuracy)],
    ['date precision', (m) => f2(m.dates.precision)],
    ['date recall', (m) => f2(m.dates.recall)],
    ['date F1', (m) => f2(m.dates.f1)],
    ['time of day, matched dates', (m) => f2(m.dates.timeAccuracy)],
    ['owner accuracy (per email)', (m) => f2(m.owners.accuracy)],
    ['action items found, right owner', (m) => f2(m.owners.itemRecall)],
    ['negative read as buying (main)', (m) => String(m.negativeAsBuying.primary.length)],
    ['negative read as buying (any)', (m) => String(m.negativeAsBuying.any.length)],
  ];
  out.push(`${pad('', 34)}${lpad('tune', 8)}${lpad('held-out', 10)}${lpad('all', 8)}`);
  for (const [label, get] of rows)
    out.push(`${pad(label, 34)}${lpad(get(tune), 8)}${lpad(get(held), 10)}${lpad(get(all), 8)}`);

  out.push('', 'Intent per class (n = labelled, P = precision, R = recall)');
  out.push(...perClassTable(INTENTS, r.bySplit, (m) => m.intent.perClass));
  out.push('', 'Sentiment per class');
  out.push(...perClassTable(SENTIMENTS, r.bySplit, (m) => m.sentiment.perClass));

  for (const split of ['tune', 'held-out'] as const) {
    const m = r.bySplit[split];
    out.push('', `Intent confusion, ${split} (rows: label, columns: extractor)`);
    out.push(...confusionTable(INTENTS, m.intent.confusion, (l) => CODE[l] ?? l));
    out.push('', `Sentiment confusion, ${split}`);
    out.push(...confusionTable(SENTIMENTS, m.sentiment.confusion, (l) => l.slice(0, 4)));
  }

  for (const split of r.show) {
    out.push('', `Mistakes, ${split}`);
    out.push(...mistakeLines(r.bySplit[split].mistakes));
  }
  return out.join('\n');
}

function perClassTable(
  labels: readonly string[],
  bySplit: Record<Split, Measurement>,
  get: (m: Measurement) => Measurement['intent']['perClass'],
): string[] {
  const lines = [
    `${pad('', 22)}${lpad('tune  n', 8)}${lpad('P', 6)}${lpad('R', 6)}   ${lpad('held-out n', 10)}${lpad('P', 6)}${lpad('R', 6)}`,
  ];
  for (const label of labels) {
    const t = get(bySplit.tune)[label];
    const h = get(bySplit['held-out'])[label];
    if (!t && !h) continue;
    const cell = (c: typeof t, w: number) =>
      c
        ? `${lpad(String(c.support), w)}${lpad(c.predicted ? f2(c.precision) : '-', 6)}${lpad(c.support ? f2(c.recall) : '-', 6)}`
        : `${lpad('0', w)}${lpad('-', 6)}${lpad('-', 6)}`;
    lines.push(`${pad(label, 22)}${cell(t, 8)}   ${cell(h, 10)}`);
  }
  return lines;
}

function confusionTable(
  labels: readonly string[],
  confusion: Record<string, Record<string, number>>,
  code: (label: string) => string,
): string[] {
  const columns = labels.filter(
    (l) => confusion[l] !== undefined || Object.values(confusion).some((row) => (row[l] ?? 0) > 0),
  );
  const w = Math.max(5, ...columns.map((c) => code(c).length)) + 1;
  const lines = [`${pad('', 22)}${columns.map((c) => lpad(code(c), w)).join('')}`];
  for (const row of labels) {
    const counts = confusion[row];
    if (!counts) continue;
    lines.push(`${pad(row, 22)}${columns.map((c) => lpad(counts[c] ? String(counts[c]) : '.', w)).join('')}`);
  }
  return lines;
}

function mistakeLines(mistakes: Mistake[]): string[] {
  if (mistakes.length === 0) return ['(none)'];
  return [...mistakes]
    .sort((a, b) => a.field.localeCompare(b.field) || a.id.localeCompare(b.id))
    .map((m) => `${pad(m.field, 10)} ${pad(m.id, 14)} expected ${m.expected}; got ${m.got}`);
}
