/**
 * Gmail `users.messages.get?format=full` resource to a {@link ParsedEmail}: headers decoded
 * (RFC 2047 words), the MIME tree walked for the body (text/plain preferred, HTML converted to
 * text), part bodies decoded from base64url in their declared charset.
 */

import { TextDecoder } from 'node:util';
import { convert as htmlToText } from 'html-to-text';
import libmime from 'libmime';
import { parseAddressList, parseMessageId, stripControl } from '../addresses.ts';
import type { ParsedEmail } from '../provider.ts';

/** The parts of Gmail's Message resource the sync reads. */
export interface GmailMessage {
  id?: string;
  threadId?: string;
  labelIds?: string[];
  snippet?: string;
  historyId?: string;
  internalDate?: string;
  payload?: GmailMessagePart;
}

export interface GmailMessagePart {
  partId?: string;
  mimeType?: string;
  filename?: string;
  headers?: Array<{ name?: string; value?: string }>;
  body?: { attachmentId?: string; size?: number; data?: string };
  parts?: GmailMessagePart[];
}

/** The message cannot be stored as it is; `message` says what is wrong with it. */
export class MessageParseError extends Error {
  override name = 'MessageParseError';
}

/** Bodies beyond this are cut: the analysis downstream reads the start of a message. */
export const MAX_BODY_CHARS = 100_000;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function header(part: GmailMessagePart | undefined, name: string): string | null {
  const wanted = name.toLowerCase();
  const found = part?.headers?.find((h) => h.name?.toLowerCase() === wanted);
  return typeof found?.value === 'string' ? found.value : null;
}

function decodeData(part: GmailMessagePart): Buffer {
  const data = part.body?.data ?? '';
  // Gmail sends unpadded base64url; anything else in there means the message is damaged.
  if (!BASE64URL.test(data)) {
    throw new MessageParseError(`part ${part.partId ?? '?'} (${part.mimeType}) body is not valid base64url`);
  }
  return Buffer.from(data, 'base64url');
}

function charsetOf(part: GmailMessagePart): string {
  const contentType = header(part, 'content-type');
  if (!contentType) return 'utf-8';
  const charset = libmime.parseHeaderValue(contentType).params?.charset;
  return typeof charset === 'string' && charset !== '' ? charset : 'utf-8';
}

function decodeText(bytes: Buffer, charset: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset.toLowerCase());
  } catch {
    // An unknown charset label: UTF-8 is the best guess and mostly right for ASCII-heavy mail.
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(bytes);
}

function isAttachment(part: GmailMessagePart): boolean {
  if (part.filename) return true;
  if (part.body?.attachmentId) return true;
  const disposition = header(part, 'content-disposition');
  return disposition !== null && /^\s*attachment/i.test(disposition);
}

/** Inline text/plain and text/html parts in document order. */
function collectTextParts(root: GmailMessagePart): { plain: GmailMessagePart[]; html: GmailMessagePart[] } {
  const plain: GmailMessagePart[] = [];
  const html: GmailMessagePart[] = [];
  const walk = (part: GmailMessagePart) => {
    const type = (part.mimeType ?? '').toLowerCase();
    if (type.startsWith('multipart/') || part.parts?.length) {
      for (const child of part.parts ?? []) walk(child);
      return;
    }
    if (isAttachment(part)) return;
    if (type === 'text/plain') plain.push(part);
    else if (type === 'text/html') html.push(part);
  };
  walk(root);
  return { plain, html };
}

/** HTML to readable text: links without their URLs, images dropped, no hard wrapping. */
export function htmlToPlainText(html: string): string {
  return htmlToText(html, {
    wordwrap: false,
    // Newsletters can carry megabytes of markup; the text that matters is near the top.
    limits: { maxInputLength: 1_000_000 },
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
    ],
  }).trim();
}

function extractBody(payload: GmailMessagePart): string | null {
  const { plain, html } = collectTextParts(payload);
  const chosen = plain.length > 0 ? plain : html;
  if (chosen.length === 0) return null;
  const texts = chosen.map((part) => decodeText(decodeData(part), charsetOf(part)));
  const text = plain.length > 0 ? texts.join('\n\n').trim() : htmlToPlainText(texts.join('\n'));
  const clean = stripControl(text.replace(/\r\n/g, '\n'));
  if (clean === '') return null;
  return clean.length > MAX_BODY_CHARS ? clean.slice(0, MAX_BODY_CHARS) : clean;
}

/** Gmail's snippet comes HTML-escaped ("it&#39;s"). */
function unescapeSnippet(snippet: string | undefined): string | null {
  if (!snippet) return null;
  const text = snippet
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
  return stripControl(text).trim() || null;
}

function sentAtOf(message: GmailMessage): Date {
  // internalDate is when Gmail received (or the user sent) the message: trustworthy, unlike a
  // sender-chosen Date header, which is only the fallback.
  const internal = Number(message.internalDate);
  if (message.internalDate && Number.isFinite(internal) && internal > 0) return new Date(internal);
  const dateHeader = header(message.payload, 'date');
  const parsed = dateHeader ? Date.parse(dateHeader) : Number.NaN;
  if (Number.isNaN(parsed)) throw new MessageParseError('message has neither internalDate nor a readable Date header');
  return new Date(parsed);
}

/** Parses one message; throws {@link MessageParseError} naming what is wrong. */
export function parseGmailMessage(message: GmailMessage): ParsedEmail {
  if (!message.id) throw new MessageParseError('message has no id');
  if (!message.threadId) throw new MessageParseError('message has no threadId');
  const payload = message.payload;
  if (!payload || typeof payload !== 'object') throw new MessageParseError('message has no payload');
  const fromHeader = header(payload, 'from');
  const from = parseAddressList(fromHeader)[0];
  if (!from) {
    throw new MessageParseError(fromHeader ? 'From header holds no readable address' : 'message has no From header');
  }
  const subject = header(payload, 'subject');
  return {
    providerMessageId: message.id,
    providerThreadId: message.threadId,
    rfcMessageId: parseMessageId(header(payload, 'message-id')),
    inReplyTo: parseMessageId(header(payload, 'in-reply-to')),
    from,
    to: parseAddressList(header(payload, 'to')),
    cc: parseAddressList(header(payload, 'cc')),
    subject: subject === null ? null : stripControl(libmime.decodeWords(subject)).trim() || null,
    snippet: unescapeSnippet(message.snippet),
    bodyText: extractBody(payload),
    labels: Array.isArray(message.labelIds) ? message.labelIds.filter((l) => typeof l === 'string') : [],
    sentAt: sentAtOf(message),
  };
}
