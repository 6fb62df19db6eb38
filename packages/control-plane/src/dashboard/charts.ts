import { esc, type Html, raw } from './html.ts';

/**
 * Server-rendered charts: no script, no library. Shapes are SVG or CSS boxes sized in percent of
 * their card, and every piece of text is HTML, so labels keep their CSS size at any width: a
 * chart is as readable on a 390 px phone as on a wide screen (an SVG viewBox scales its text with
 * the drawing, which made axes unreadable on phones). Each bar carries a title with its value.
 */

export interface Series {
  name: string;
  /** CSS class of the bars (colours live in the stylesheet). */
  className: string;
  values: number[];
}

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

export function fmt(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 1000) return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (Math.abs(n) >= 1) return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return n.toPrecision(2);
}

const pctOf = (v: number) => `${(v * 100).toFixed(3)}%`;

/**
 * Ticks of an axis of `n` slots: at most 7 major ticks (shown everywhere) and about as many minor
 * ones between them (hidden on narrow screens), the first and last aligned inwards so none
 * overflows its chart.
 */
function ticks(labels: string[]): string {
  const n = labels.length;
  // Minor steps divide major ones, so hiding the minor ticks leaves evenly spaced major ones.
  const minor = n <= 6 ? 1 : Math.ceil(n / 12);
  const major = n <= 6 ? 1 : 2 * minor;
  const out: string[] = [];
  labels.forEach((label, i) => {
    if (i % minor !== 0) return;
    const at = (i + 0.5) / n;
    const edge = at < 0.08 ? ' first' : at > 0.92 ? ' last' : '';
    const kind = i % major === 0 ? '' : ' minor';
    out.push(`<span class="tick${kind}${edge}" style="left:${pctOf(at)}">${esc(label)}</span>`);
  });
  return out.join('');
}

/** Stacked vertical bars, one slot per label. */
export function columnChart(opts: {
  id: string;
  labels: string[];
  series: Series[];
  title: string;
  unit?: string;
}): Html {
  const { labels, series } = opts;
  if (labels.length === 0) return raw(`<p class="empty">No data in this window.</p>`);
  const n = labels.length;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = niceMax(Math.max(...totals));
  // Drawing units: each slot is 10 wide, the plot 100 high; the SVG is stretched to its box.
  const barW = 7 * Math.min(1, n / 8);
  const rects: string[] = [];
  labels.forEach((label, i) => {
    const x = i * 10 + (10 - barW) / 2;
    let base = 0;
    for (const s of series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      const top = 100 - ((base + v) / max) * 100;
      const h = (v / max) * 100;
      rects.push(
        `<rect class="${esc(s.className)}" x="${x.toFixed(2)}" y="${top.toFixed(3)}" width="${barW.toFixed(2)}" height="${h.toFixed(3)}"><title>${esc(`${label} · ${s.name}: ${fmt(v)}${opts.unit ?? ''}`)}</title></rect>`,
      );
      base += v;
    }
  });
  const grid = [0, 50, 100]
    .map((y) => `<line class="gridline" x1="0" x2="${n * 10}" y1="${y}" y2="${y}" vector-effect="non-scaling-stroke"/>`)
    .join('');
  const yAxis = [1, 0.5, 0].map((t) => `<span style="bottom:${pctOf(t)}">${esc(fmt(max * t))}</span>`).join('');
  const legend =
    series.length > 1
      ? `<div class="legend">${series.map((s) => `<span><i class="${esc(s.className)}"></i>${esc(s.name)}</span>`).join('')}</div>`
      : '';
  return raw(
    `<figure class="chart col-chart" data-chart="${esc(opts.id)}" role="img" aria-label="${esc(opts.title)}">` +
      `<div class="col-plot"><div class="y-axis" aria-hidden="true">${yAxis}</div>` +
      `<svg class="bars" viewBox="0 0 ${n * 10} 100" preserveAspectRatio="none">${grid}${rects.join('')}</svg></div>` +
      `<div class="x-axis" aria-hidden="true">${ticks(labels)}</div></figure>${legend}`,
  );
}

/** Horizontal bars, one row per item, each labelled with its value in a column of its own. */
export function barList(opts: {
  id: string;
  rows: { label: string; value: number; display: string }[];
  title: string;
  className: string;
}): Html {
  if (opts.rows.length === 0) return raw(`<p class="empty">No data in this window.</p>`);
  const max = Math.max(...opts.rows.map((r) => r.value), 0) || 1;
  const rows = opts.rows.map(
    (r) =>
      `<div class="hbar-row"><span class="hbar-label">${esc(r.label)}</span>` +
      `<span class="track"><span class="bar ${esc(opts.className)}${r.value > 0 ? '' : ' zero'}" style="width:${pctOf(Math.max(0, r.value) / max)}" title="${esc(`${r.label}: ${r.display}`)}"></span></span>` +
      `<span class="hbar-value">${esc(r.display)}</span></div>`,
  );
  return raw(
    `<div class="chart hbars" data-chart="${esc(opts.id)}" role="img" aria-label="${esc(opts.title)}">${rows.join('')}</div>`,
  );
}

/** The smallest top of the queue chart's log scale: one job stays a short bar. */
export const QUEUE_SCALE_MIN = 1000;

/** Where `n` jobs end on the queue chart's scale (0..1): log10(1 + n) / log10(1 + top). */
export function logScale(n: number, top: number): number {
  return Math.log10(1 + Math.max(0, n)) / Math.log10(1 + top);
}

export interface QueueLanes {
  queue: string;
  paused: boolean;
  lanes: { state: string; className: string; value: number }[];
}

/**
 * Jobs per queue and state on one logarithmic scale (top: the largest count, at least
 * QUEUE_SCALE_MIN), so one delayed job is a short bar beside a queue of thousands, and every
 * count is written in a column of its own, never on the bar.
 */
export function queueChart(opts: { queues: QueueLanes[]; title: string }): Html {
  const largest = Math.max(0, ...opts.queues.flatMap((q) => q.lanes.map((l) => l.value)));
  const top = Math.max(QUEUE_SCALE_MIN, largest);
  const marks: number[] = [];
  for (let m = 1; m <= top; m *= 10) marks.push(m);
  const scale = marks
    .map((m) => {
      const at = logScale(m, top);
      const edge = at > 0.92 ? ' last' : '';
      return `<span class="tick${edge}" style="left:${pctOf(at)}">${esc(m >= 1000 ? `${fmt(m / 1000)}k` : String(m))}</span>`;
    })
    .join('');
  const rows = opts.queues.map(
    (q) =>
      `<div class="q-row" data-queue="${esc(q.queue)}"><span class="q-label">${esc(q.queue)}${q.paused ? ' <span class="badge s-failed">paused</span>' : ''}</span><div class="q-lanes">` +
      q.lanes
        .map(
          (l) =>
            `<div class="q-lane" data-state="${esc(l.state)}" data-value="${l.value}"><span class="track"><span class="bar ${esc(l.className)}${l.value > 0 ? '' : ' zero'}" style="width:${pctOf(logScale(l.value, top))}" title="${esc(`${q.queue}: ${l.value} ${l.state}`)}"></span></span>` +
            `<span class="q-value">${esc(`${fmt(l.value)} ${l.state}`)}</span></div>`,
        )
        .join('') +
      '</div></div>',
  );
  return raw(
    `<div class="chart queues-chart" data-chart="queues" data-scale-top="${top}" role="img" aria-label="${esc(opts.title)}">` +
      `<div class="q-row q-scale" aria-hidden="true"><span class="q-label">jobs (log scale)</span><div class="q-lanes"><div class="q-lane"><span class="track scale">${scale}</span><span class="q-value"></span></div></div></div>` +
      `${rows.join('')}</div>`,
  );
}

export interface TimelineLane {
  label: string;
  className: string;
  start: Date;
  /** null: still going (drawn to `end` of the axis). */
  end: Date | null;
  title: string;
  attrs?: string;
}

/** Lanes on one time axis (the attempts of a job), with the axis's start and offsets as labels. */
export function timeline(opts: { lanes: TimelineLane[]; now: Date; title: string }): Html {
  if (opts.lanes.length === 0) return raw(`<p class="empty">No attempt has started yet.</p>`);
  const t0 = Math.min(...opts.lanes.map((l) => l.start.getTime()));
  const t1 = Math.max(t0 + 1, ...opts.lanes.map((l) => (l.end ?? opts.now).getTime()));
  const span = t1 - t0;
  const at = (t: number) => (t - t0) / span;
  const rows = opts.lanes.map((l) => {
    const a = at(l.start.getTime());
    const b = at((l.end ?? opts.now).getTime());
    return (
      `<div class="tl-row"${l.attrs ? ` ${l.attrs}` : ''}><span class="tl-label">${esc(l.label)}</span>` +
      `<span class="track"><span class="bar ${esc(l.className)}${l.end ? '' : ' open'}" style="left:${pctOf(a)};width:${pctOf(b - a)}" title="${esc(l.title)}"></span></span></div>`
    );
  });
  const offset = (ms: number) =>
    ms < 1_000
      ? `+${Math.round(ms)} ms`
      : ms < 120_000
        ? `+${(ms / 1000).toFixed(1)} s`
        : `+${(ms / 60_000).toFixed(1)} min`;
  const axis = [0, 0.25, 0.5, 0.75, 1]
    .map((f, i) => {
      const text = i === 0 ? `${new Date(t0).toISOString().slice(11, 19)}Z` : offset(span * f);
      const cls = i === 0 ? ' first' : i === 4 ? ' last' : i % 2 === 1 ? ' minor' : '';
      return `<span class="tick${cls}" style="left:${pctOf(f)}">${esc(text)}</span>`;
    })
    .join('');
  return raw(
    `<div class="chart timeline" data-chart="timeline" role="img" aria-label="${esc(opts.title)}">${rows.join('')}` +
      `<div class="tl-row tl-axis" aria-hidden="true"><span class="tl-label"></span><span class="x-axis">${axis}</span></div></div>`,
  );
}
