/** Rounding for outputs: rates to 4 decimals, p-values to 4 significant digits (they can be tiny). */
export function round(value: number, decimals = 4): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

export function roundP(p: number): number {
  return p === 0 ? 0 : Number(p.toPrecision(4));
}

/** A rate as "23.4%". */
export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/** A p-value as text: "p = 0.0123", or "p < 0.0001". */
export function describeP(p: number): string {
  return p < 0.0001 ? 'p < 0.0001' : `p = ${p.toFixed(4)}`;
}
