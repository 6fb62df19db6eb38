/** Display formats of the dashboard (raw values go to data-value attributes). */

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function pct(rate: number | null): string {
  return rate === null ? '–' : `${(rate * 100).toFixed(1)}%`;
}

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function usd(value: string | number): string {
  const n = Number(value);
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: n !== 0 && Math.abs(n) < 1 ? 4 : 2 })}`;
}

export function time(d: Date | null): string {
  if (!d) return '–';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function age(ms: number | null): string {
  return ms === null ? '–' : duration(ms);
}

export function shortId(id: string | null): string {
  return id ? id.slice(0, 8) : '–';
}
