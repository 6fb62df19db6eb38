/**
 * A raw RFC 5322 message (what IMAP's FETCH BODY[] returns) as Gmail's `format=full` Message
 * resource, so every provider's mail goes through the one parser in `gmail/parse-message.ts`.
 *
 * The shape follows what Gmail sends: header values as they stand in the message (RFC 2047 words
 * still encoded, folding removed), a part tree with IMAP-style part ids ("" for the root, then
 * "0", "0.1", ...), leaf bodies with the transfer encoding removed but the bytes left in their
 * declared charset, base64url without padding, attachments (parts with a file name) named by an
 * `attachmentId` instead of carrying their data, and an embedded `message/rfc822` as a part whose
 * one child is the inner message's root. The MIME split itself is mailsplit's, the splitter
 * mailparser and imapflow are built on.
 */
import { type MimeNode, Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import libqp from 'libqp';
import type { GmailMessage, GmailMessagePart } from './gmail/parse-message.ts';

export interface RawMessageMeta {
  id: string;
  threadId: string;
  labelIds?: string[];
  /** When the mailbox received the message (IMAP INTERNALDATE); omitted = the Date header counts. */
  internalDate?: Date;
}

/** Limits that keep a hostile message from exhausting memory while it is split. */
const SPLIT_LIMITS = { maxHeadSize: 2 * 1024 * 1024, maxChildNodes: 5_000 };

/** Header bytes are UTF-8 in modern mail and Latin-1 in old mail; invalid UTF-8 means the latter. */
function headerText(binary: string): string {
  const bytes = Buffer.from(binary, 'binary');
  const utf8 = bytes.toString('utf8');
  return utf8.includes('\uFFFD') ? bytes.toString('latin1') : utf8;
}

function headersOf(node: MimeNode): Array<{ name: string; value: string }> {
  if (!node.headers) return [];
  return node.headers.getList().flatMap(({ line }) => {
    const colon = line.indexOf(':');
    if (colon <= 0) return [];
    const text = headerText(line);
    const at = text.indexOf(':');
    return [
      {
        name: text.slice(0, at).trim(),
        value: text
          .slice(at + 1)
          .replace(/\r?\n/g, '')
          .trim(),
      },
    ];
  });
}

function decodeBody(encoding: string | false, raw: Buffer): Buffer {
  switch (encoding) {
    case 'base64':
      // Node's decoder skips line breaks and stray characters, as mail clients do.
      return Buffer.from(raw.toString('latin1'), 'base64');
    case 'quoted-printable':
      return libqp.decode(raw.toString('latin1'));
    default:
      return raw;
  }
}

/** Splits `raw` and builds the payload tree; rejects when the splitter gives up on the input. */
export async function payloadFromRaw(raw: Buffer | string): Promise<GmailMessagePart> {
  const splitter = new Splitter({ ...SPLIT_LIMITS, defaultInlineEmbedded: true });
  const parts = new Map<MimeNode, GmailMessagePart>();
  const bodies = new Map<MimeNode, Buffer[]>();
  let root: GmailMessagePart | undefined;
  splitter.end(typeof raw === 'string' ? Buffer.from(raw) : raw);
  // Async iteration drains the splitter and rethrows its errors (an over-limit header block, ...).
  for await (const chunk of splitter as AsyncIterable<SplitterChunk>) {
    if (chunk.type === 'node') {
      const parent = chunk.parentNode ? parts.get(chunk.parentNode) : undefined;
      if (parent && !parent.parts) parent.parts = [];
      const siblings = parent?.parts ?? [];
      const partId = parent ? (parent.partId ? `${parent.partId}.${siblings.length}` : String(siblings.length)) : '';
      const part: GmailMessagePart = {
        partId,
        mimeType: chunk.contentType || 'text/plain',
        filename: chunk.filename || '',
        headers: headersOf(chunk),
        body: { size: 0 },
      };
      if (parent) siblings.push(part);
      else root ??= part;
      parts.set(chunk, part);
      if (!chunk.multipart && !chunk.messageNode) bodies.set(chunk, []);
    } else if (chunk.type === 'body') {
      bodies.get(chunk.node)?.push(chunk.value);
    }
  }
  if (!root) throw new Error('message has no header block');

  let attachments = 0;
  for (const [node, chunks] of bodies) {
    const part = parts.get(node)!;
    const data = decodeBody(node.encoding, Buffer.concat(chunks));
    part.body = part.filename
      ? { attachmentId: `att-${++attachments}`, size: data.length }
      : { size: data.length, data: data.toString('base64url') };
  }
  return root;
}

/** A raw message as a Gmail Message resource with the given id, thread and labels. */
export async function messageFromRaw(raw: Buffer | string, meta: RawMessageMeta): Promise<GmailMessage> {
  return {
    id: meta.id,
    threadId: meta.threadId,
    labelIds: meta.labelIds ?? [],
    ...(meta.internalDate ? { internalDate: String(meta.internalDate.getTime()) } : {}),
    payload: await payloadFromRaw(raw),
  };
}
