/**
 * Lexicon sentiment for business email: word weights, negation ("not happy") flips the next few
 * words, intensifiers ("very", "extremely") scale them. The sum is squashed into -1..1 the way
 * VADER does (x / sqrt(x² + α)), so a single polite "thanks" stays neutral. Courtesy formulas
 * ("happy to help", "happy holidays", "thanks for reaching out") carry no stance and are dropped
 * first. What the email is for also sets its stance (heuristic-extractor.ts applies it).
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
  pleasure: 1.5,
  lovely: 1.5,
  keen: 1,
  compliment: 1,
  favourite: 1.5,
  favorite: 1.5,
  enjoyed: 1.5,
  liked: 1.5,
  approved: 0.5,
  fair: 0.5,
  welcome: 1.5,
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
  blocking: -1.5,
  blocked: -1.5,
  stuck: -1.5,
  crash: -1.5,
  crashes: -1.5,
  hate: -2,
  painful: -1.5,
  slower: -1,
  missed: -1,
  unfair: -2,
  wrong: -1,
  afraid: -1,
  mess: -1.5,
  drowning: -1,
  harder: -1,
  annoying: -2,
  suspended: -1,
  frankly: -0.5,
  double: -0.5,
  disconnected: -1,
};

/** Formulas of politeness: no stance in them, whatever their words. */
const COURTESY =
  /\b(happy|glad) (to help|to answer|to walk|to sign|to put|to stay in touch)\b|\bhappy (holidays|new year|to)\b|\b(thanks|thank you) (in advance|for (your|the) (email|message|note|reminder|quote|time)|for reaching out)\b|\b(best|kind|warm) regards\b|\bno worries\b|\bgood (morning|afternoon|evening)\b|\bi wish you a good\b|\bif that works\b/gi;
/** Phrases that say more than their words. */
const PHRASES: Array<[RegExp, number]> = [
  [/\b(good|great) news\b/gi, 2],
  [/\blooking forward\b/gi, 1.5],
  [/\bwent down (really )?well\b/gi, 2],
  [/\bmade all the difference\b/gi, 2],
  [/\bthis can'?t happen again\b|\bis not an answer\b/gi, -2.5],
  [/\b(two|one) too many\b/gi, -2.5],
  [/\b(none of us|nobody) can\b/gi, -1.5],
  [/\b(the )?fix worked\b|\bquick turnaround\b/gi, 1.5],
  [/\bno longer (contains|works|shows|syncs|loads)\b/gi, -1.5],
];

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
/** |score| from which the email takes a stance. */
const THRESHOLD = 0.25;

export interface SentimentResult {
  sentiment: 'positive' | 'neutral' | 'negative';
  /** -1..1 */
  score: number;
  /** The unsquashed sum of the weights, for callers that add their own evidence. */
  raw: number;
}

export function scoreSentiment(text: string): SentimentResult {
  let clean = text.toLowerCase().replace(/[’]/g, "'");
  let sum = 0;
  for (const [re, weight] of PHRASES) {
    for (const _ of clean.matchAll(re)) sum += weight;
    clean = clean.replace(re, ' ');
  }
  clean = clean.replace(COURTESY, ' ');
  const words = clean.match(/[a-z']+/g) ?? [];
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
      // A negated positive is a mild negative ("not great"); a negated negative is only a weak
      // positive ("not unhappy" is faint praise).
      const negated = weight > 0 ? -weight * 0.75 : -weight * 0.3;
      sum += negateFor > 0 ? negated * boost : weight * boost;
    }
    boost = 1;
    if (negateFor > 0) negateFor--;
  }
  return fromRaw(sum);
}

/** The label and -1..1 score of a raw weight sum. */
export function fromRaw(sum: number): SentimentResult {
  const score = Math.round((sum / Math.sqrt(sum * sum + ALPHA)) * 1000) / 1000;
  const sentiment = score >= THRESHOLD ? 'positive' : score <= -THRESHOLD ? 'negative' : 'neutral';
  return { sentiment, score, raw: sum };
}
