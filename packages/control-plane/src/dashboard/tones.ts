/**
 * The colours of success rates, one rule for the KPI and the per-type table (README, Dashboard):
 * green at 99 % or more, amber from 95 % to under 99 %, red under 95 %, grey when nothing finished.
 * A fleet that fails one job in twenty is not healthy, so 95 % is already red.
 */
export const SUCCESS_GOOD = 0.99;
export const SUCCESS_WARN = 0.95;

export type Tone = 'good' | 'warn' | 'bad' | 'none';

export function successTone(rate: number | null): Tone {
  if (rate === null) return 'none';
  if (rate >= SUCCESS_GOOD) return 'good';
  if (rate >= SUCCESS_WARN) return 'warn';
  return 'bad';
}

/** Words beside the colour, so the meaning does not rest on colour alone. */
export const TONE_WORD: Record<Tone, string> = {
  good: `at or above ${SUCCESS_GOOD * 100} %`,
  warn: `below ${SUCCESS_GOOD * 100} %`,
  bad: `below ${SUCCESS_WARN * 100} %`,
  none: 'nothing finished',
};
