/**
 * Lexicon sentiment for business email: word weights, negation ("not happy") flips the next few
 * words, intensifiers ("very", "extremely") scale them. The sum is squashed into -1..1 the way
 * VADER does (x / sqrt(x² + α)), so a single polite "thanks" stays neutral.
 */

const LEXICON: Record<string, number> = {
  // positive
  thanks: 0.5,
  thank: 0.5,
  appreciate: 1,
  appreciated: 1,
  great: 1.5,
  good: 1,
  excellent: 2,
  excited: 2,
  exciting: 1.5,
  love: 2,
  loved: 2,
  happy: 1.5,
  glad: 1.5,
  pleased: 1.5,
  delighted: 2,
  impressed: 2,
  awesome: 2,
  amazing: 2,
  fantastic: 2,
  wonderful: 2,
  perfect: 1.5,
  helpful: 1.5,
  smooth: 1,
  easy: 1,
  congratulations: 2,
  congrats: 2,
  thrilled: 2.5,
  recommend: 1,
  interested: 1,
  // negative
  disappointed: -2,
  disappointing: -2,
  frustrated: -2,
  frustrating: -2,
  unacceptable: -3,
  terrible: -3,
  awful: -3,
  horrible: -3,
  worst: -3,
  angry: -2.5,
  annoyed: -2,
  upset: -2,
  unhappy: -2,
  poor: -1.5,
  bad: -1.5,
  broken: -1.5,
  bug: -1,
  error: -1,
  errors: -1,
  fail: -1.5,
  failed: -1.5,
  failing: -1.5,
  fails: -1.5,
  issue: -0.5,
  issues: -0.5,
  problem: -1,
  problems: -1,
  unfortunately: -1,
  concerned: -1,
  concern: -1,
  confusing: -1.5,
  useless: -2.5,
  ridiculous: -2.5,
  waste: -2,
  slow: -1,
  complaint: -2,
  cancel: -1,
  refund: -1,
  overcharged: -2,
  outage: -2,
  down: -0.5,
  sorry: -0.5,
  urgent: -0.5,
};

const NEGATORS = new Set([
  'not',
  'no',
  'never',
  'hardly',
  'without',
  "isn't",
  "wasn't",
  "don't",
  "doesn't",
  "didn't",
  "won't",
  "can't",
  'cannot',
  "aren't",
  "haven't",
]);
const INTENSIFIERS: Record<string, number> = {
  very: 1.5,
  really: 1.3,
  extremely: 1.8,
  so: 1.3,
  incredibly: 1.8,
  truly: 1.3,
  super: 1.5,
  absolutely: 1.5,
  quite: 1.1,
};
/** How many words after a negator it applies to. */
const NEGATION_SPAN = 3;
const ALPHA = 8;

export interface SentimentResult {
  sentiment: 'positive' | 'neutral' | 'negative';
  /** -1..1 */
  score: number;
}

export function scoreSentiment(text: string): SentimentResult {
  const words =
    text
      .toLowerCase()
      .replace(/[’]/g, "'")
      .match(/[a-z']+/g) ?? [];
  let sum = 0;
  let negateFor = 0;
  let boost = 1;
  for (const w of words) {
    if (NEGATORS.has(w) || w.endsWith("n't")) {
      negateFor = NEGATION_SPAN;
      continue;
    }
    const intensity = INTENSIFIERS[w];
    if (intensity !== undefined) {
      boost = intensity;
      continue;
    }
    const weight = LEXICON[w];
    if (weight !== undefined) {
      // A negated positive is a mild negative ("not great"); a negated negative is mildly positive.
      sum += negateFor > 0 ? -weight * 0.75 * boost : weight * boost;
    }
    boost = 1;
    if (negateFor > 0) negateFor--;
  }
  const score = Math.round((sum / Math.sqrt(sum * sum + ALPHA)) * 1000) / 1000;
  const sentiment = score >= 0.25 ? 'positive' : score <= -0.25 ? 'negative' : 'neutral';
  return { sentiment, score };
}
