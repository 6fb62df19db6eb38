/**
 * The part of jStat (no types of its own) that the proportion tests use. jStat is a UMD bundle:
 * Node's ESM loader sees only its default export (module.exports, the jStat object itself).
 */
declare module 'jstat' {
  interface JStat {
    /** ln Γ(x). */
    gammaln(x: number): number;
    /** Two-sided (sides = 2) or one-sided p-value of a standard normal z. */
    ztest(z: number, sides: 1 | 2): number;
    normal: {
      /** Quantile of N(mean, sd). */
      inv(p: number, mean: number, sd: number): number;
    };
  }
  const jStat: JStat;
  export default jStat;
}
