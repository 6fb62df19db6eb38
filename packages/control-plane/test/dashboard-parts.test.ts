import { describe, expect, it } from 'vitest';
import { columnChart, logScale, QUEUE_SCALE_MIN, queueChart } from '../src/dashboard/charts.ts';
import { table } from '../src/dashboard/tables.ts';
import { successTone } from '../src/dashboard/tones.ts';

describe('dashboard parts', () => {
  it('colours success rates at the documented thresholds: 99 % green, 95 % amber, red below', () => {
    expect([1, 0.99, 0.9899, 0.95, 0.9499, 0.5, 0].map(successTone)).toEqual([
      'good',
      'good',
      'warn',
      'warn',
      'bad',
      'bad',
      'bad',
    ]);
    expect(successTone(null)).toBe('none');
  });

  it('puts queue counts on a log scale whose top is at least 1,000 jobs', () => {
    expect(QUEUE_SCALE_MIN).toBe(1000);
    expect(logScale(0, 1000)).toBe(0);
    expect(logScale(1, 1000)).toBeCloseTo(0.1003, 4);
    expect(logScale(1000, 1000)).toBe(1);
    const html = queueChart({
      title: 'q',
      queues: [{ queue: 'a', paused: false, lanes: [{ state: 'delayed', className: 'c', value: 25_000 }] }],
    }).text;
    expect(html).toContain('data-scale-top="25000"');
    expect(html).toContain('width:100.000%');
  });

  it('labels at most 7 evenly spaced axis ticks on a phone, all of them on a wide screen', () => {
    for (const n of [1, 2, 6, 7, 8, 25, 31, 49]) {
      const labels = Array.from({ length: n }, (_, i) => `L${i}`);
      const text = columnChart({
        id: 'x',
        labels,
        series: [{ name: 's', className: 'c', values: labels.map(() => 1) }],
        title: 't',
      }).text;
      const ticks = [...text.matchAll(/<span class="tick([^"]*)"[^>]*>L(\d+)</g)].map((m) => ({
        minor: m[1]!.includes('minor'),
        i: Number(m[2]),
      }));
      const major = ticks.filter((t) => !t.minor).map((t) => t.i);
      expect(major.length, `n=${n}`).toBeLessThanOrEqual(7);
      expect(major[0], `n=${n}`).toBe(0);
      const gaps = new Set(major.slice(1).map((v, k) => v - major[k]!));
      expect(gaps.size, `n=${n}: evenly spaced`).toBeLessThanOrEqual(1);
    }
  });

  it('names every cell after its column, for the phone layout', () => {
    const text = table({
      testid: 't',
      columns: [{ label: 'Task type' }, { label: 'Cost', num: true }],
      rows: [{ cells: ['email_sync', { v: '$1.00', data: { value: '1' } }] }],
    }).text;
    expect(text).toContain('<td data-label="Task type">email_sync</td>');
    expect(text).toContain('<td class="num" data-label="Cost" data-value="1">$1.00</td>');
  });
});
