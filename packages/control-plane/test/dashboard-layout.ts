import type { Page } from 'playwright-core';

/** What a page looks like to someone reading it, measured in the browser. */
export interface LayoutReport {
  viewport: number;
  /** document scrollWidth - clientWidth: > 0 means the page scrolls sideways. */
  pageOverflow: number;
  /** Elements that scroll (or clip) sideways: their content is wider than they are. */
  sideways: string[];
  /** Tables that reach outside the viewport. */
  tablesOutside: string[];
  /** Every chart's drawn size, and for column charts the plot's. */
  charts: { id: string; width: number; height: number; plotHeight: number | null }[];
  /** Visible text smaller than the minimum, with its size. */
  smallText: string[];
  /** Smallest visible text size in px. */
  minFontPx: number;
  /** Axis labels that overlap each other or stick out of their chart. */
  badTicks: string[];
  /** Shapes of a chart (bars, plot) drawn outside the card that holds the chart. */
  outsideCard: string[];
}

/**
 * Runs in the page (as a string: the test's TypeScript has no DOM types). `minFont` is the
 * smallest text size allowed in CSS px; SVG text is measured as drawn (its font size times the
 * SVG's scale), which is how an SVG viewBox shrinks axis labels on a phone.
 */
const SCRIPT = (minFont: number) => `(() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    for (let e = el; e; e = e.parentElement) {
      if (e.tagName === 'DETAILS' && !e.open && !(el.tagName === 'SUMMARY' || el.closest('summary'))) return false;
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden') return false;
    }
    return true;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const all = [...document.querySelectorAll('body *')];
  const sideways = all
    .filter((el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX))
    .filter((el) => el.scrollWidth > el.clientWidth + 1 && !el.classList.contains('track') && el.tagName !== 'svg')
    .map((el) => name(el) + ' ' + el.scrollWidth + '>' + el.clientWidth);
  const vw = document.documentElement.clientWidth;
  const tablesOutside = [...document.querySelectorAll('table')]
    .filter(visible)
    .filter((t) => { const r = t.getBoundingClientRect(); return r.left < -0.5 || r.right > vw + 0.5 || t.scrollWidth > t.clientWidth + 1; })
    .map((t) => name(t));
  const charts = [...document.querySelectorAll('.chart')].filter(visible).map((c) => {
    const r = c.getBoundingClientRect();
    const plot = c.querySelector('.col-plot');
    return { id: c.dataset.chart || name(c), width: Math.round(r.width), height: Math.round(r.height),
      plotHeight: plot ? Math.round(plot.getBoundingClientRect().height) : null };
  });
  let minFontPx = Infinity;
  const smallText = [];
  for (const el of all) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    if (!own || !visible(el)) continue;
    let px = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest('svg');
    if (svg) {
      const box = svg.viewBox && svg.viewBox.baseVal;
      if (box && box.width) px *= svg.getBoundingClientRect().width / box.width;
    }
    minFontPx = Math.min(minFontPx, px);
    if (px < ${minFont} - 0.01) smallText.push(name(el) + ' "' + el.textContent.trim().slice(0, 30) + '" ' + px.toFixed(1) + 'px');
  }
  const badTicks = [];
  for (const axis of document.querySelectorAll('.x-axis, .track.scale, .y-axis')) {
    if (!visible(axis)) continue;
    const chart = axis.closest('.chart') || axis.parentElement;
    const box = chart.getBoundingClientRect();
    const ticks = [...axis.children].filter(visible).map((t) => ({ t, r: t.getBoundingClientRect() }));
    ticks.forEach(({ t, r }, i) => {
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) badTicks.push('"' + t.textContent + '" outside its chart');
      const next = ticks[i + 1];
      const vertical = axis.classList.contains('y-axis');
      if (next && (vertical ? next.r.top < r.bottom - 0.5 && r.top < next.r.bottom - 0.5 : next.r.left < r.right - 0.5)) {
        badTicks.push('"' + t.textContent + '" overlaps "' + next.t.textContent + '"');
      }
    });
  }
  const outsideCard = [];
  for (const chart of document.querySelectorAll('.chart')) {
    if (!visible(chart)) continue;
    const card = (chart.closest('.card') || chart).getBoundingClientRect();
    for (const shape of chart.querySelectorAll('rect, .bar, .col-plot, svg, .hbar-value, .q-value, .tl-label')) {
      const r = shape.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < card.left - 1 || r.right > card.right + 1 || r.top < card.top - 1 || r.bottom > card.bottom + 1) {
        outsideCard.push((chart.dataset.chart || '?') + ': ' + name(shape));
      }
    }
  }
  return { outsideCard, viewport: vw, pageOverflow: document.documentElement.scrollWidth - vw, sideways, tablesOutside, charts,
    smallText, minFontPx, badTicks };
})()`;

export async function layoutReport(page: Page, minFontPx = 12): Promise<LayoutReport> {
  return page.evaluate<LayoutReport>(SCRIPT(minFontPx));
}
