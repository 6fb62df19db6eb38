/**
 * Tests of "do these two rates differ?": the two-proportion z-test, Fisher's exact test where the
 * z-test's normal approximation is poor (an expected count below 5), Holm's correction when one
 * leader is compared with several others, and the sample size a difference needs. jStat supplies
 * the normal distribution and ln Γ; the tests themselves are a few lines each, so every p-value in
 * an output can be checked by hand (or with R's prop.test(correct = FALSE) / fisher.test).
 */
import jStat from 'jstat';

/** `successes` out of `trials`, e.g. opens out of sends. */
export interface Proportion {
  successes: number;
  trials: number;
}

export type TestName = 'two_proportion_z' | 'fisher_exact';

export interface Comparison {
  test: TestName;
  /** z of (b − a) with the pooled standard error; null for Fisher's test. */
  z: number | null;
  /** Two-sided p-value. */
  pValue: number;
}

/** The expected count below which the z-test is replaced by Fisher's exact test. */
export const MIN_EXPECTED_COUNT = 5;

export function rate(p: Proportion): number {
  return p.trials === 0 ? 0 : p.successes / p.trials;
}

/** Pooled two-proportion z-test, two-sided. Both samples need at least one trial. */
export function twoProportionZTest(a: Proportion, b: Proportion): { z: number; pValue: number } {
  assertSample(a);
  assertSample(b);
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  // Both rates 0 or both 1: no variation at all, so no evidence of a difference.
  if (se === 0) return { z: 0, pValue: 1 };
  const z = (rate(b) - rate(a)) / se;
  return { z, pValue: twoSidedNormalP(z) };
}

/**
 * P(|Z| ≥ |z|) for a standard normal Z. jStat computes it as 1 − erf, which is 0 from |z| ≈ 8.3
 * on; beyond |z| = 5 the tail comes from its continued fraction (Mills' ratio) instead, so a
 * strong result reads p = 1.5e-23, not p = 0.
 */
export function twoSidedNormalP(z: number): number {
  const x = Math.abs(z);
  if (x < 5) return Math.min(1, jStat.ztest(x, 2));
  // Q(x) = φ(x) / (x + 1/(x + 2/(x + 3/(x + …)))), evaluated from the 60th term back.
  let fraction = x;
  for (let k = 60; k >= 1; k--) fraction = x + k / fraction;
  const density = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  return (2 * density) / fraction;
}

/**
 * Fisher's exact test of the 2×2 table (successes, failures) × (a, b), two-sided: the probability,
 * with the margins fixed, of every table at most as likely as the observed one.
 */
export function fisherExactTest(a: Proportion, b: Proportion): number {
  assertSample(a);
  assertSample(b);
  const successes = a.successes + b.successes;
  const total = a.trials + b.trials;
  const logChoose = (n: number, k: number) => jStat.gammaln(n + 1) - jStat.gammaln(k + 1) - jStat.gammaln(n - k + 1);
  const logDenominator = logChoose(total, successes);
  const probability = (x: number) =>
    Math.exp(logChoose(a.trials, x) + logChoose(b.trials, successes - x) - logDenominator);
  const observed = probability(a.successes);
  let p = 0;
  for (let x = Math.max(0, successes - b.trials); x <= Math.min(a.trials, successes); x++) {
    const px = probability(x);
    // The relative tolerance keeps tables exactly as likely as the observed one despite rounding.
    if (px <= observed * (1 + 1e-7)) p += px;
  }
  return Math.min(1, p);
}

/** Compares b with a: the z-test when every expected count is at least 5, else Fisher's test. */
export function compareProportions(a: Proportion, b: Proportion): Comparison {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const smallest = Math.min(a.trials, b.trials) * Math.min(pooled, 1 - pooled);
  if (smallest < MIN_EXPECTED_COUNT) return { test: 'fisher_exact', z: null, pValue: fisherExactTest(a, b) };
  return { test: 'two_proportion_z', ...twoProportionZTest(a, b) };
}

/**
 * Holm's step-down adjustment of p-values for a family of comparisons: controls the chance of
 * any false "significant" at alpha, and is never less powerful than Bonferroni.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const adjusted = new Array<number>(pValues.length);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (pValues.length - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/**
 * Trials per arm for a two-sided test at `alpha` to detect rates p1 vs p2 with `power`
 * (normal approximation, pooled variance under the null). Infinity when p1 = p2.
 */
export function sampleSizePerArm(p1: number, p2: number, alpha: number, power: number): number {
  if (p1 === p2) return Number.POSITIVE_INFINITY;
  const zAlpha = jStat.normal.inv(1 - alpha / 2, 0, 1);
  const zBeta = jStat.normal.inv(power, 0, 1);
  const mean = (p1 + p2) / 2;
  const numerator = zAlpha * Math.sqrt(2 * mean * (1 - mean)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((numerator * numerator) / ((p1 - p2) * (p1 - p2)));
}

function assertSample(p: Proportion): void {
  if (!Number.isInteger(p.trials) || !Number.isInteger(p.successes) || p.trials < 1) {
    throw new RangeError(`a proportion needs whole counts and at least one trial, got ${p.successes}/${p.trials}`);
  }
  if (p.successes < 0 || p.successes > p.trials) {
    throw new RangeError(`successes must be between 0 and trials, got ${p.successes}/${p.trials}`);
  }
}
