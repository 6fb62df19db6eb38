import { describe, expect, it } from 'vitest';
import {
  compareProportions,
  fisherExactTest,
  holmAdjust,
  sampleSizePerArm,
  twoProportionZTest,
  twoSidedNormalP,
} from '../src/campaign/proportion-tests.ts';
import { binomial, prng } from './campaign-data.ts';

describe('proportion tests against published values', () => {
  it('two-proportion z-test: 200/1000 vs 250/1000 as R prop.test(correct = FALSE)', () => {
    const { z, pValue } = twoProportionZTest({ successes: 200, trials: 1000 }, { successes: 250, trials: 1000 });
    expect(z).toBeCloseTo(2.6774, 4);
    expect(pValue).toBeCloseTo(0.00742, 5);
  });

  it('keeps tiny p-values exact instead of rounding them to 0', () => {
    // 2 × Φ(−z): R's 2 * pnorm(-z) gives these.
    expect(twoSidedNormalP(1.959964)).toBeCloseTo(0.05, 6);
    expect(twoSidedNormalP(4.9)).toBeCloseTo(9.58e-7, 8);
    expect(twoSidedNormalP(5) / 5.733031e-7).toBeCloseTo(1, 5);
    expect(twoSidedNormalP(-6) / 1.973175e-9).toBeCloseTo(1, 5);
    expect(twoSidedNormalP(10) / 1.523971e-23).toBeCloseTo(1, 5);
    expect(twoSidedNormalP(30)).toBeGreaterThan(0);
  });

  it('z-test: no variation at all is no evidence', () => {
    expect(twoProportionZTest({ successes: 0, trials: 50 }, { successes: 0, trials: 80 })).toEqual({ z: 0, pValue: 1 });
  });

  it("Fisher's exact test: the tea-tasting table and the dieting example", () => {
    expect(fisherExactTest({ successes: 3, trials: 4 }, { successes: 1, trials: 4 })).toBeCloseTo(0.4857, 4);
    expect(fisherExactTest({ successes: 1, trials: 12 }, { successes: 9, trials: 12 })).toBeCloseTo(0.002759, 6);
  });

  it('uses Fisher when an expected count is below 5, the z-test otherwise', () => {
    expect(compareProportions({ successes: 1, trials: 40 }, { successes: 6, trials: 40 }).test).toBe('fisher_exact');
    expect(compareProportions({ successes: 20, trials: 100 }, { successes: 30, trials: 100 }).test).toBe(
      'two_proportion_z',
    );
  });

  it('Holm adjustment', () => {
    expect(holmAdjust([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    expect(holmAdjust([0.5])).toEqual([0.5]);
  });

  it('sample size per arm for 20% vs 25% at alpha 0.05 and power 0.8', () => {
    expect(sampleSizePerArm(0.2, 0.25, 0.05, 0.8)).toBe(1094);
    expect(sampleSizePerArm(0.2, 0.2, 0.05, 0.8)).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects impossible counts', () => {
    expect(() => twoProportionZTest({ successes: 5, trials: 0 }, { successes: 1, trials: 2 })).toThrow(
      /at least one trial/,
    );
    expect(() => fisherExactTest({ successes: 5, trials: 4 }, { successes: 1, trials: 2 })).toThrow(
      /between 0 and trials/,
    );
  });
});

describe('calibration on simulated A/B tests (seeded)', () => {
  const runs = 400;
  const n = 2000;
  function significantShare(seed: number, pa: number, pb: number): number {
    const random = prng(seed);
    let significant = 0;
    for (let i = 0; i < runs; i++) {
      const a = { successes: binomial(random, n, pa), trials: n };
      const b = { successes: binomial(random, n, pb), trials: n };
      if (compareProportions(a, b).pValue < 0.05) significant++;
    }
    return significant / runs;
  }

  it('equal variants are significant about 5% of the time', () => {
    const share = significantShare(1, 0.2, 0.2);
    expect(share).toBeGreaterThan(0.02);
    expect(share).toBeLessThan(0.09);
  });

  it('a +5 pp open rate at n = 2000 per variant is found nearly always (power ≈ 0.97)', () => {
    expect(significantShare(2, 0.2, 0.25)).toBeGreaterThan(0.93);
  });
});
