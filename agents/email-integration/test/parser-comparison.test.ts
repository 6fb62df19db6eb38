import { describe, expect, it } from 'vitest';
import { compareAll, FIELDS, formatSummary } from './parser-comparison.ts';

describe('the parser against mailparser on public .eml fixtures', () => {
  it('parses every file and agrees on at least 90 % of them, field by field', async () => {
    const summary = await compareAll();
    expect(summary.files).toBeGreaterThanOrEqual(30);
    expect(summary.refused).toEqual([]);
    const below = FIELDS.filter((f) => summary.agreement[f] < 0.9);
    expect(below, formatSummary(summary, true)).toEqual([]);
  }, 60_000);
});
