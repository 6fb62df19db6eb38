/**
 * Plain-text tables for terminals: a header row, columns padded to their widest cell, numbers
 * right-aligned. No colours or box characters, so the output pipes cleanly into grep/awk.
 */
export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  align?: 'left' | 'right';
  /** Longer cells are cut with an ellipsis (error messages, payloads). */
  maxWidth?: number;
}

function cell(value: string | number | null | undefined, maxWidth: number | undefined): string {
  const text = value === null || value === undefined || value === '' ? '-' : String(value).replace(/\s+/g, ' ');
  return maxWidth && text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text;
}

export function formatTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row), c.maxWidth)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** `key: value` lines for one record, keys padded to line up. */
export function formatRecord(entries: readonly [string, string | number | null | undefined][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v === null || v === undefined ? '-' : v}`).join('\n');
}
