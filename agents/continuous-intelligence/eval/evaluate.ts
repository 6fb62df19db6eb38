/** Runs an extractor over the corpus and measures it, split by split. */
import type { Extractor, Insight } from '../src/insight.ts';
import { type CorpusEmail, loadCorpus, SPLITS, type Split, toExtractionInput } from './corpus.ts';
import { type Measurement, measure } from './measure.ts';

export interface Evaluation {
  model: string;
  /** Wall time of the extraction calls alone. */
  runtimeMs: number;
  bySplit: Record<Split, Measurement>;
  all: Measurement;
  cases: Array<{ email: CorpusEmail; insight: Insight }>;
}

export async function evaluateExtractor(extractor: Extractor, corpus = loadCorpus()): Promise<Evaluation> {
  const signal = new AbortController().signal;
  const cases: Evaluation['cases'] = [];
  const started = performance.now();
  for (const email of corpus) {
    const { insight } = await extractor.extract(toExtractionInput(email), signal);
    cases.push({ email, insight });
  }
  const runtimeMs = performance.now() - started;
  const bySplit = Object.fromEntries(
    SPLITS.map((s) => [s, measure(cases.filter((c) => c.email.split === s))]),
  ) as Record<Split, Measurement>;
  return { model: extractor.model, runtimeMs, bySplit, all: measure(cases), cases };
}
