/**
 * Address headers (From, To, Cc) to `{ address, name }` lists. RFC 5322 parsing first; real mail
 * often breaks the grammar (unquoted dots in names, stray commas), so a lenient scan of anything
 * shaped like an address follows when the strict parse fails.
 */
import emailAddresses from 'email-addresses';
import libmime from 'libmime';

export interface Address {
  /** Lower-cased address, the identity used for contacts. */
  address: string;
  name: string | null;
}

const ADDRESS_SHAPE = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const LENIENT = /(?:"?([^"<>,]*?)"?\s*)?<([^<>\s]+@[^<>\s]+)>|([^\s<>,;:"()]+@[^\s<>,;:"()]+)/g;

function decodeName(name: string | null | undefined): string | null {
  if (!name) return null;
  const decoded = stripControl(libmime.decodeWords(name)).trim();
  return decoded === '' ? null : decoded;
}

/** Removes NUL and other C0 controls except tab/newline; Postgres text refuses NUL. */
export function stripControl(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');
}

function normalise(address: string): string | null {
  const a = address.trim().toLowerCase();
  return ADDRESS_SHAPE.test(a) ? a : null;
}

/** Parses an address-list header; unparseable entries are dropped, duplicates merged. */
export function parseAddressList(header: string | null | undefined): Address[] {
  if (!header || header.trim() === '') return [];
  const out = new Map<string, Address>();
  const add = (address: string, name: string | null | undefined) => {
    const a = normalise(address);
    if (a && !out.has(a)) out.set(a, { address: a, name: decodeName(name) });
  };
  const strict = emailAddresses.parseAddressList({ input: header, rfc6532: true });
  if (strict) {
    for (const entry of strict) {
      if (entry.type === 'group') for (const m of entry.addresses) add(m.address, m.name);
      else add(entry.address, entry.name);
    }
    return [...out.values()];
  }
  for (const m of header.matchAll(LENIENT)) {
    if (m[2]) add(m[2], m[1]?.trim() || null);
    else if (m[3]) add(m[3], null);
  }
  return [...out.values()];
}

/** First id of a Message-ID / In-Reply-To / References header, without angle brackets. */
export function parseMessageId(header: string | null | undefined): string | null {
  if (!header) return null;
  const bracketed = /<([^<>\s]+)>/.exec(header);
  if (bracketed) return bracketed[1]!;
  const bare = header.trim().split(/\s+/)[0];
  return bare?.includes('@') ? bare : null;
}
