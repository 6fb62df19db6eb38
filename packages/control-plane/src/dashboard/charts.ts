import { esc, type Html, raw } from './html.ts';

/**
 * Small server-rendered SVG charts: no script, no external library, readable at any width
 * (viewBox scaling) and printable. Each bar carries a <title> so hovering shows the value.
 */

export interface Series {
  name: string;
  /** CSS class of the bars (colours live in the stylesheet). */
  className: string;
  values: number[];
}

/** Drawing height; the width is the caller's (wide cards draw wider so text keeps its size). */
const H = 200;
const PAD = { left: 48, right: 8, top: 10, bottom: 36 };

/** Charts keep a minimum drawn size (the box scrolls sideways on a phone) so text stays legible. */
function chartClass(width: number): string {
  return width > 640 ? 'chart chart-wide' : 'chart';
}

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function fmt(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 1000) return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (Math.abs(n) >= 1) return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return n.toPrecision(2);
}

/** Stacked vertical bars, one per label. */
export function barChart(opts: {
  labels: string[];
  series: Series[];
  title: string;
  unit?: string;
  width?: number;
}): Html {
  const { labels, series, title } = opts;
  const W = opts.width ?? 640;
  if (labels.length === 0) return raw(`<p class="empty">No data in this window.</p>`);
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = niceMax(Math.max(...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / labels.length;
  const barW = Math.max(1, Math.min(48, step * 0.7));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (const t of [0, 0.5, 1]) {
    const yy = y(max * t);
    parts.push(
      `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}"/>`,
      `<text class="axis" x="${PAD.left - 6}" y="${yy + 4}" text-anchor="end">${esc(fmt(max * t))}</text>`,
    );
  }
  const every = Math.ceil(labels.length / 8);
  labels.forEach((label, i) => {
    const x = PAD.left + i * step + (step - barW) / 2;
    let base = 0;
    for (const s of series) {
      const v = s.values[i] ?? 0;
      if (v > 0) {
        const top = y(base + v);
        parts.push(
          `<rect class="${esc(s.className)}" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(base) - top).toFixed(1)}"><title>${esc(`${label} · ${s.name}: ${fmt(v)}${opts.unit ?? ''}`)}</title></rect>`,
        );
      }
      base += v;
    }
    if (i % every === 0) {
      parts.push(
        `<text class="axis" x="${(x + barW / 2).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${esc(label)}</text>`,
      );
    }
  });
  const legend =
    series.length > 1
      ? `<div class="legend">${series.map((s) => `<span><i class="${esc(s.className)}"></i>${esc(s.name)}</span>`).join('')}</div>`
      : '';
  return raw(
    `<div class="chart-box"><svg class="${chartClass(W)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}" preserveAspectRatio="xMidYMid meet">${parts.join('')}</svg></div>${legend}`,
  );
}

/** Horizontal bars, one per row, labelled with their value. */
export function hbarChart(opts: {
  rows: { label: string; value: number; display: string }[];
  title: string;
  className: string;
  width?: number;
}): Html {
  const W = opts.width ?? 640;
  if (opts.rows.length === 0) return raw(`<p class="empty">No data in this window.</p>`);
  const rowH = 26;
  const labelW = 190;
  const h = opts.rows.length * rowH + 4;
  const max = Math.max(...opts.rows.map((r) => r.value), 0) || 1;
  const plotW = W - labelW - 90;
  const parts = opts.rows.map((r, i) => {
    const y = i * rowH + 4;
    const w = Math.max(r.value > 0 ? 2 : 0, (r.value / max) * plotW);
    return (
      `<text class="label" x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>` +
      `<rect class="${esc(opts.className)}" x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}"><title>${esc(`${r.label}: ${r.display}`)}</title></rect>` +
      `<text class="value" x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}">${esc(r.display)}</text>`
    );
  });
  return raw(
    `<div class="chart-box"><svg class="${chartClass(W)}" viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(opts.title)}" preserveAspectRatio="xMidYMid meet">${parts.join('')}</svg></div>`,
  );
}
