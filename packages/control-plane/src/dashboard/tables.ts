import { shortId } from './format.ts';
import { esc, Html, html, raw } from './html.ts';

/**
 * Tables of the dashboard. Every cell carries its column's name (data-label): on a narrow screen
 * the stylesheet turns each row into a card of "name value" lines, so no table needs sideways
 * scrolling.
 */
export interface Column {
  label: string;
  num?: boolean;
  /** On a phone the cell takes the card's whole width (long values: times, names). */
  wide?: boolean;
}

/** A cell: its content, and data-* attributes (raw values for tests and scripts). */
export type Cell = Html | string | number | { v: Html | string | number; data?: Record<string, string> };

function attrsOf(data: Record<string, string> | undefined): string {
  if (!data) return '';
  return Object.entries(data)
    .map(([k, val]) => ` data-${esc(k)}="${esc(val)}"`)
    .join('');
}

export function table(o: {
  testid: string;
  columns: Column[];
  rows: { data?: Record<string, string>; cells: Cell[] }[];
}): Html {
  const head = o.columns.map((c) => `<th${c.num ? ' class="num"' : ''}>${esc(c.label)}</th>`).join('');
  const body = o.rows
    .map((r) => {
      const tds = r.cells.map((cell, i) => {
        const col = o.columns[i]!;
        const { v, data } = typeof cell === 'object' && !(cell instanceof Html) ? cell : { v: cell, data: undefined };
        const text = v instanceof Html ? v.text : esc(v);
        const cls = [col.num ? 'num' : '', col.wide ? 'wide' : ''].filter(Boolean).join(' ');
        return `<td${cls ? ` class="${cls}"` : ''} data-label="${esc(col.label)}"${attrsOf(data)}>${text}</td>`;
      });
      return `<tr${attrsOf(r.data)}>${tds.join('')}</tr>`;
    })
    .join('');
  return raw(
    `<div class="table-wrap"><table class="rtable" data-testid="${esc(o.testid)}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`,
  );
}

/** The task page of an audit row. */
export function taskHref(rowId: string): string {
  return `/dashboard/tasks/${encodeURIComponent(rowId)}`;
}

/** A link to a row's task page, showing the start of its job id (the full id as a tooltip). */
export function taskLink(row: { id: string; jobId: string | null }): Html {
  return html`<a class="task-link" href="${taskHref(row.id)}" title="${row.jobId ?? row.id}" data-testid="task-link">${shortId(row.jobId ?? row.id)}</a>`;
}

/** Workspace names the viewer may see, by id. */
export type WorkspaceNames = ReadonlyMap<string, string>;

/** A workspace's name (or the start of its id when the name is not loaded); "fleet" for none. */
export function workspaceLabel(id: string | null, names: WorkspaceNames): Html {
  if (!id) return html`<span class="muted">fleet</span>`;
  const name = names.get(id);
  return name ? html`<span title="${id}">${name}</span>` : html`<span title="${id}">${shortId(id)}</span>`;
}

/**
 * Keyset paging links of one list: "Older" carries the page's next cursor in `param`, "Newest"
 * drops it. The other query parameters (filters, the other list's cursor) are kept.
 */
export function pager(o: {
  path: string;
  query: URLSearchParams;
  param: string;
  next: string | null;
  testid: string;
}): Html {
  const link = (cursor: string | null) => {
    const q = new URLSearchParams(o.query);
    if (cursor) q.set(o.param, cursor);
    else q.delete(o.param);
    const s = q.toString();
    return `${o.path}${s ? `?${s}` : ''}`;
  };
  const current = o.query.get(o.param);
  if (!current && !o.next) return raw('');
  return html`<nav class="pager" data-testid="${o.testid}">
    ${current ? html`<a href="${link(null)}" data-testid="${o.testid}-newest">Newest</a>` : ''}
    ${o.next ? html`<a href="${link(o.next)}" data-testid="${o.testid}-older">Older →</a>` : ''}</nav>`;
}
