/**
 * Compares the project's parser (`parseGmailMessage` on the Gmail-shaped conversion of a raw
 * message) with mailparser's `simpleParser` on the public .eml fixtures in `test/eml/`, field by
 * field. Run `npm run compare:parsers -w @fleet/agent-email-integration` for the table; the test
 * `parser-comparison.test.ts` holds the floors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddressObject, simpleParser } from 'mailparser';
import { htmlToPlainText, parseGmailMessage } from '../src/gmail/parse-message.ts';
import type { ParsedEmail } from '../src/provider.ts';
import { messageFromRaw } from '../src/raw-message.ts';

export const FIELDS = ['subject', 'from_address', 'from_name', 'to', 'date', 'text'] as const;
export type Field = (typeof FIELDS)[number];

export const FIXTURE_DIR = new URL('./eml/', import.meta.url).pathname;

/** Receipt time given to messages without a Date header, as Gmail's internalDate would be. */
export const RECEIVED_AT = new Date('2026-01-05T12:00:00Z');

export interface FileResult {
  file: string;
  /** Why the project's parser refused the file, when it did. */
  error: string | null;
  fields: Record<Field, { agree: boolean; ours: string; theirs: string }>;
}

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURE_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(FIXTURE_DIR, d.name))
        .filter((f) => !/^(LICENSE|SOURCES)/.test(f))
        .map((f) => `${d.name}/${f}`),
    )
    .sort();
}

/** Whitespace runs to one space: line wrapping and blank lines are layout, the words are content. */
const norm = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();

function flattenAddresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const out: string[] = [];
  const visit = (entries: Array<{ address?: string; group?: unknown[] }>) => {
    for (const e of entries) {
      if (e.group) visit(e.group as typeof entries);
      else if (e.address) out.push(e.address.toLowerCase());
    }
  };
  for (const obj of ([] as AddressObject[]).concat(value ?? [])) visit(obj.value);
  return [...new Set(out)];
}

/** The comparable view of each parser's result. */
type View = Record<Field, string>;

function oursView(email: ParsedEmail): View {
  return {
    subject: norm(email.subject),
    from_address: email.from?.address ?? '',
    from_name: norm(email.from?.name),
    to: email.to.map((a) => a.address).join(', '),
    date: email.sentAt.toISOString(),
    text: norm(email.bodyText),
  };
}

async function theirsView(raw: Buffer): Promise<View & { hasDate: boolean }> {
  const m = await simpleParser(raw);
  const from = m.from?.value[0];
  return {
    subject: norm(m.subject),
    from_address: from?.address?.toLowerCase() ?? '',
    from_name: norm(from?.name),
    to: flattenAddresses(m.to).join(', '),
    date: m.date ? m.date.toISOString() : RECEIVED_AT.toISOString(),
    hasDate: m.date !== undefined,
    // mailparser leaves `text` empty for HTML that is neither the root nor beside a plain part
    // (an HTML-only multipart/mixed or related); its users then convert `html`, as done here
    // with the project's conversion settings, so what is compared is which parts were read.
    text: norm(m.text || (m.html ? htmlToPlainText(m.html) : '')),
  };
}

/** One fixture through both parsers. */
export async function compareFile(file: string): Promise<FileResult> {
  const raw = readFileSync(join(FIXTURE_DIR, file));
  const theirs = await theirsView(raw);
  let ours: View | null = null;
  let error: string | null = null;
  try {
    const message = await messageFromRaw(raw, {
      id: file,
      threadId: file,
      // Without a Date header the receipt time is all there is, for either parser.
      internalDate: theirs.hasDate ? undefined : RECEIVED_AT,
    });
    ours = oursView(parseGmailMessage(message));
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const fields = {} as FileResult['fields'];
  for (const f of FIELDS) {
    const o = ours ? ours[f] : '<refused>';
    fields[f] = { agree: ours !== null && o === theirs[f], ours: o, theirs: theirs[f] };
  }
  return { file, error, fields };
}

export interface Summary {
  files: number;
  refused: string[];
  /** Share of files on which both parsers agree, per field. */
  agreement: Record<Field, number>;
  /** Files on which every field agrees. */
  allFields: number;
  results: FileResult[];
}

export async function compareAll(files = fixtureFiles()): Promise<Summary> {
  const results: FileResult[] = [];
  for (const file of files) results.push(await compareFile(file));
  const agreement = {} as Record<Field, number>;
  for (const f of FIELDS) agreement[f] = results.filter((r) => r.fields[f].agree).length / results.length;
  return {
    files: results.length,
    refused: results.filter((r) => r.error !== null).map((r) => `${r.file}: ${r.error}`),
    agreement,
    allFields: results.filter((r) => FIELDS.every((f) => r.fields[f].agree)).length,
    results,
  };
}

const cut = (s: string, n = 90) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The table the script prints. */
export function formatSummary(s: Summary, verbose = false): string {
  const lines = [`${s.files} fixtures; ${s.allFields} agree on every field; ${s.refused.length} refused`];
  for (const f of FIELDS) lines.push(`  ${f.padEnd(13)} ${(s.agreement[f] * 100).toFixed(1).padStart(5)} %`);
  for (const r of s.refused) lines.push(`  refused: ${r}`);
  if (verbose) {
    for (const r of s.results) {
      for (const f of FIELDS) {
        const d = r.fields[f];
        if (!d.agree && r.error === null) {
          lines.push(`  ${r.file} ${f}\n    ours:   ${cut(d.ours)}\n    theirs: ${cut(d.theirs)}`);
        }
      }
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const summary = await compareAll();
  console.log(formatSummary(summary, process.argv.includes('--verbose')));
}
