/** Formatting of the values the CLI prints: durations, ages, timestamps, money. */

/** 950 → '950ms', 61_000 → '1m 1s', 90_061_000 → '1d 1h'. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !/^0[a-z]$/.test(p)).join(' ') || '0s';
}

/** An instant as ISO 8601 UTC, to the second. */
export function formatTime(value: Date | string | number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 19)}Z`;
}

/** Dollars with up to 6 decimals, trailing zeros trimmed to cents: '0.0025', '1.50'. */
export function formatUsd(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  const fixed = n.toFixed(6).replace(/0+$/, '');
  const [int, frac = ''] = fixed.split('.');
  return `$${int}.${frac.padEnd(2, '0')}`;
}

/**
 * Parses '90s', '15m', '24h', '7d', '2w' (or plain hours) into milliseconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'h').toLowerCase();
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit]!;
  return n * factor;
}
