/**
 * The labelled evaluation corpus: business emails written as YAML (one list per file under
 * `corpus/tune/` and `corpus/held-out/`), each with the answer a careful reader gives
 * (LABELLING.md). Loaded and validated here, and turned into what the extractors read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { type EmailForExtraction, INTENTS, SENTIMENTS, URGENCIES } from '../src/insight.ts';

export const SPLITS = ['tune', 'held-out'] as const;
export type Split = (typeof SPLITS)[number];

const CORPUS_DIR = new URL('./corpus/', import.meta.url).pathname;

const addressList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));

/** 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM'. */
const labelledDate = z.string().regex(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$/, 'must be YYYY-MM-DD or YYYY-MM-DD HH:MM');

const entrySchema = z.strictObject({
  id: z.string().regex(/^[a-z]+-\d{2}$/, 'must look like "lost-01"'),
  direction: z.enum(['inbound', 'outbound']),
  from: z.string().min(3),
  to: addressList,
  cc: addressList.optional(),
  subject: z.string(),
  /** The Date header: local time with the writer's UTC offset. */
  sent: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/, 'must be ISO 8601 with an offset'),
  /** The workspace's IANA zone. */
  timezone: z.string().default('America/New_York'),
  body: z.string().min(1),
  expect: z.strictObject({
    intent: z.enum(INTENTS),
    sentiment: z.enum(SENTIMENTS),
    urgency: z.enum(URGENCIES),
    actions: z.array(z.strictObject({ owner: z.enum(['us', 'them']), says: z.string().min(2) })),
    dates: z.array(labelledDate),
  }),
});

export type CorpusEntry = z.infer<typeof entrySchema>;
export interface CorpusEmail extends CorpusEntry {
  split: Split;
  /** File the email is written in, relative to corpus/. */
  file: string;
}

/** Every email of the given splits (both by default), in file then list order. */
export function loadCorpus(splits: readonly Split[] = SPLITS, dir = CORPUS_DIR): CorpusEmail[] {
  const out: CorpusEmail[] = [];
  const seen = new Map<string, string>();
  for (const split of splits) {
    const files = readdirSync(join(dir, split))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    for (const name of files) {
      const file = `${split}/${name}`;
      const raw: unknown = parse(readFileSync(join(dir, file), 'utf8'));
      const list = z.array(z.unknown()).safeParse(raw);
      if (!list.success) throw new Error(`${file}: must be a YAML list of emails`);
      list.data.forEach((item, i) => {
        const parsed = entrySchema.safeParse(item);
        if (!parsed.success) {
          const where = (item as { id?: unknown })?.id ?? `item ${i + 1}`;
          const issues = parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ');
          throw new Error(`${file} ${String(where)}: ${issues}`);
        }
        const previous = seen.get(parsed.data.id);
        if (previous) throw new Error(`${file}: id ${parsed.data.id} is already used in ${previous}`);
        seen.set(parsed.data.id, file);
        out.push({ ...parsed.data, split, file });
      });
    }
  }
  return out;
}

/** "Dana Whitfield <dana@northwind.com>" → name and address; a bare address has no name. */
export function parseMailbox(mailbox: string): { name: string | null; address: string } {
  const m = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(mailbox);
  if (!m) return { name: null, address: mailbox.trim().toLowerCase() };
  return { name: m[1] ? m[1].replace(/^"|"$/g, '') : null, address: m[2]!.trim().toLowerCase() };
}

/** The email as the extractors receive it from the database. */
export function toExtractionInput(e: CorpusEmail): EmailForExtraction {
  const from = parseMailbox(e.from);
  return {
    id: e.id,
    direction: e.direction,
    fromAddress: from.address,
    fromName: from.name,
    toAddresses: [...e.to, ...(e.cc ?? [])].map((m) => parseMailbox(m).address),
    subject: e.subject,
    bodyText: e.body,
    snippet: e.body.slice(0, 200),
    sentAt: new Date(e.sent),
    timezone: e.timezone,
  };
}
