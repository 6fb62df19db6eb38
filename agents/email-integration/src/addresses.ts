/**
 * Address headers (From, To, Cc) to `{ address, name }` lists. RFC 5322 parsing first; real mail
 * often breaks the grammar (unquoted dots in names, stray commas), so a lenient scan of anything
 * shaped like an address follows when the strict parse fails. A mailbox without a display name
 * takes its comment as the name, the old form `MAILER-DAEMON@host (Mail Delivery System)`.
 */
import emailAddresses from 'email-addresses';
import libmime from 'libmime';

export interface Address {
  /** Lower-cased address, the identity used for contacts. */
  address: string;
  name: string | null;
}

// A domain without a dot (`user@localhost`, `greg@inbucket`) is valid and occurs in real mail.
const ADDRESS_SHAPE = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/;
const LENIENT = /(?:"?([^"<>,]*?)"?\s*)?<([^<>\s]+@[^<>\s]+)>|([^\s<>,;:"()]+@[^\s<>,;:"()]+)/g;

function decodeName(name: string | null | undefined): string | null {
  if (!name) return null;
  const decoded = stripControl(libmime.decodeWords(name)).replace(/\s+/g, ' ').trim();
  return decoded === '' ? null : decoded;
}

/** The text of RFC 5322 comments, `(Mail Delivery System)` → `Mail Delivery System`. */
function commentText(comments: string | undefined): string | null {
  if (!comments) return null;
  const texts = [...comments.matchAll(/\(((?:[^()\\]|\\.)*)\)/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1').trim());
  return texts.filter(Boolean).join(' ') || null;
}

/** Removes NUL and other C0 controls except tab/newline; Postgres text refuses NUL. */
export function stripControl(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');
}

/** Mailboxes of a header in order, addresses as written (not yet lower-cased or deduplicated). */
function readMailboxes(header: string): Array<{ address: string; name: string | null }> {
  const out: Array<{ address: string; name: string | null }> = [];
  const strict = emailAddresses.parseAddressList({ input: header, rfc6532: true });
  if (strict) {
    const add = (m: emailAddresses.ParsedMailbox) =>
      out.push({
        address: m.address,
        name: decodeName(m.name) ?? decodeName(commentText(m.parts.comments.map((c) => c.tokens).join(' '))),
      });
    for (const entry of strict) {
      if (entry.type === 'group') for (const m of entry.addresses) add(m);
      else add(entry);
    }
    return out;
  }
  for (const m of header.matchAll(LENIENT)) {
    if (m[2]) out.push({ address: m[2], name: decodeName(m[1]?.trim()) });
    else if (m[3]) out.push({ address: m[3], name: null });
  }
  return out;
}

/** Parses an address-list header; unparseable entries are dropped, duplicates merged. */
export function parseAddressList(header: string | null | undefined): Address[] {
  if (!header || header.trim() === '') return [];
  const out = new Map<string, Address>();
  for (const m of readMailboxes(header)) {
    const a = m.address.trim().toLowerCase();
    if (ADDRESS_SHAPE.test(a) && !out.has(a)) out.set(a, { address: a, name: m.name });
  }
  return [...out.values()];
}

/** An address header for reading: `"Name" <address>, address`, names decoded, addresses as written. */
export function formatAddressList(header: string): string {
  const mailboxes = readMailboxes(header).filter((m) => ADDRESS_SHAPE.test(m.address.trim()));
  if (mailboxes.length === 0) return decodeName(header) ?? '';
  return mailboxes.map((m) => (m.name ? `"${m.name.replace(/["\\]/g, '\\$&')}" <${m.address}>` : m.address)).join(', ');
}

/** First id of a Message-ID / In-Reply-To / References header, without angle brackets. */
export function parseMessageId(header: string | null | undefined): string | null {
  if (!header) return null;
  const bracketed = /<([^<>\s]+)>/.exec(header);
  if (bracketed) return bracketed[1]!;
  const bare = header.trim().split(/\s+/)[0];
  return bare?.includes('@') ? bare : null;
}
