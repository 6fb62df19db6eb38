/**
 * Gmail `users.messages.get?format=full` resource to a {@link ParsedEmail}: headers decoded
 * (RFC 2047 words), the MIME tree walked for the body (text/plain preferred, HTML converted to
 * text, delivery reports and embedded messages included), part bodies decoded from base64url in
 * their declared charset. IMAP mail comes here too, converted by `raw-message.ts`.
 */

import { TextDecoder } from 'node:util';
import { decodeHTML } from 'entities';
import { convert as htmlToText } from 'html-to-text';
import libmime from 'libmime';
import { type Address, formatAddressList, parseAddressList, parseMessageId, stripControl } from '../addresses.ts';
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
/** Length of a snippet made from the body when the provider sends none (Gmail's are about 200). */
const SNIPPET_CHARS = 200;
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

function contentTypeOf(part: GmailMessagePart) {
  const contentType = header(part, 'content-type');
  return contentType ? libmime.parseHeaderValue(contentType) : null;
}

function charsetOf(part: GmailMessagePart): string {
  const charset = contentTypeOf(part)?.params?.charset;
  return typeof charset === 'string' && charset !== '' ? charset : 'utf-8';
}

/** Labels that promise 7-bit text: 8-bit bytes under them are, in practice, UTF-8. */
const ASCII_LABELS = /^(us-?ascii|ascii|ansi_x3\.4-1968|iso646-us|7bit)$/i;

function decodeText(bytes: Buffer, charset: string): string {
  // WHATWG maps "us-ascii" to windows-1252, which garbles the UTF-8 such mail carries.
  const label = ASCII_LABELS.test(charset.trim()) ? 'utf-8' : charset.trim().toLowerCase();
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    // An unknown charset label: UTF-8 is the best guess and mostly right for ASCII-heavy mail.
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(bytes);
}

/** A text part's content as a string: charset decoded, and format=flowed lines rejoined (RFC 3676). */
function partText(part: GmailMessagePart): string {
  const text = decodeText(decodeData(part), charsetOf(part));
  const params = contentTypeOf(part)?.params ?? {};
  if (String(params.format ?? '').toLowerCase() !== 'flowed') return text;
  return libmime.decodeFlowed(text, String(params.delsp ?? '').toLowerCase() === 'yes');
}

function isAttachment(part: GmailMessagePart): boolean {
  if (part.filename) return true;
  if (part.body?.attachmentId) return true;
  const disposition = header(part, 'content-disposition');
  return disposition !== null && /^\s*attachment/i.test(disposition);
}

/** The headers of an embedded message worth reading with its text (who wrote it, when, about what). */
const EMBEDDED_HEADERS = ['From', 'Subject', 'Date', 'To', 'Cc'] as const;

function embeddedHeaderLines(inner: GmailMessagePart): string {
  const lines: string[] = [];
  for (const name of EMBEDDED_HEADERS) {
    const value = header(inner, name);
    if (!value) continue;
    let shown: string;
    if (name === 'Subject') shown = libmime.decodeWords(value).trim();
    else if (name === 'Date') shown = Number.isNaN(Date.parse(value)) ? value : new Date(value).toUTCString();
    else shown = formatAddressList(value);
    if (shown) lines.push(`${name}: ${shown}`);
  }
  return lines.join('\n');
}

interface Segment {
  /** `plain`: text/plain or a delivery report; `html`: text/html; `headers`: an embedded message's headers. */
  kind: 'plain' | 'html' | 'headers';
  text: string;
}

const isInline = (part: GmailMessagePart) => /^\s*inline/i.test(header(part, 'content-disposition') ?? '');

/**
 * The readable pieces of a message in document order: inline text/plain, text/html and
 * message/delivery-status parts; of a multipart/alternative, the versions with plain text (else
 * the last one with any: the richest, by RFC 2046); and for each embedded message marked inline (a forward, the
 * copy in an abuse report) its headers and its own parts. An embedded message without that mark
 * is an attached file, like the returned original of a bounce, and adds nothing.
 */
function collectSegments(part: GmailMessagePart): Segment[] {
  const type = (part.mimeType ?? '').toLowerCase();
  if (type === 'message/rfc822') {
    const inner = part.parts?.[0];
    if (!inner || !isInline(part) || isAttachment(part)) return [];
    const lines = embeddedHeaderLines(inner);
    return [...(lines ? [{ kind: 'headers' as const, text: lines }] : []), ...collectSegments(inner)];
  }
  if (type === 'multipart/alternative') {
    const versions = (part.parts ?? []).map(collectSegments);
    const plain = versions.filter((v) => v.some((s) => s.kind === 'plain'));
    return plain.length > 0 ? plain.flat() : (versions.findLast((v) => v.length > 0) ?? []);
  }
  if (type.startsWith('multipart/') || part.parts?.length) return (part.parts ?? []).flatMap(collectSegments);
  if (isAttachment(part)) return [];
  if (type === 'text/plain' || type === 'message/delivery-status') return [{ kind: 'plain', text: partText(part) }];
  if (type === 'text/html') return [{ kind: 'html', text: partText(part) }];
  return [];
}

/** Newsletters can carry megabytes of markup; the text that matters is near the top. */
const MAX_HTML_CHARS = 1_000_000;
/** Deeper nesting than this is cut (with an ellipsis) instead of recursing further. */
const MAX_HTML_DEPTH = 1_000;

/** Where the parser reports what it had to cut or guess (pino's `warn`). */
export interface ParseLog {
  warn(obj: object, msg: string): void;
}

/** HTML to readable text: links without their URLs, images dropped, no hard wrapping. */
export function htmlToPlainText(html: string, log?: ParseLog): string {
  let input = html;
  if (input.length > MAX_HTML_CHARS) {
    // Cut here rather than by html-to-text, which would announce it on the console, past the logger.
    log?.warn(
      { htmlChars: input.length, keptChars: MAX_HTML_CHARS },
      'HTML body is too long; converting its start only',
    );
    input = input.slice(0, MAX_HTML_CHARS);
  }
  return htmlToText(input, {
    wordwrap: false,
    limits: { maxInputLength: MAX_HTML_CHARS, maxDepth: MAX_HTML_DEPTH },
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
    ],
  }).trim();
}

function extractBody(payload: GmailMessagePart, log?: ParseLog): string | null {
  const text = collectSegments(payload)
    .map((s) => (s.kind === 'html' ? htmlToPlainText(s.text, log) : s.text.trim()))
    .filter(Boolean)
    .join('\n\n');
  const clean = stripControl(text.replace(/\r\n?/g, '\n')).trim();
  if (clean === '') return null;
  return clean.length > MAX_BODY_CHARS ? clean.slice(0, MAX_BODY_CHARS) : clean;
}

/** Gmail's snippet comes HTML-escaped ("it&#39;s", "&rsquo;"); without one, the body's start. */
function snippetOf(snippet: string | undefined, bodyText: string | null): string | null {
  const text = snippet ? decodeHTML(snippet) : (bodyText ?? '').slice(0, SNIPPET_CHARS * 2);
  const clean = stripControl(text).replace(/\s+/g, ' ').trim();
  if (clean === '') return null;
  return snippet ? clean : clean.slice(0, SNIPPET_CHARS);
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

/**
 * Who sent the message: From, else Sender, else Return-Path (the envelope sender). Mail without
 * any of them exists (Gmail delivers it) and is kept with a null sender.
 */
function senderOf(payload: GmailMessagePart): Address | null {
  for (const name of ['from', 'sender', 'return-path']) {
    const found = parseAddressList(header(payload, name))[0];
    if (found) return found;
  }
  return null;
}

export interface ParseOptions {
  log?: ParseLog;
}

/** Parses one message; throws {@link MessageParseError} naming what is wrong. */
export function parseGmailMessage(message: GmailMessage, opts: ParseOptions = {}): ParsedEmail {
  if (!message.id) throw new MessageParseError('message has no id');
  if (!message.threadId) throw new MessageParseError('message has no threadId');
  const payload = message.payload;
  if (!payload || typeof payload !== 'object') throw new MessageParseError('message has no payload');
  const subject = header(payload, 'subject');
  const bodyText = extractBody(payload, opts.log);
  return {
    providerMessageId: message.id,
    providerThreadId: message.threadId,
    rfcMessageId: parseMessageId(header(payload, 'message-id')),
    inReplyTo: parseMessageId(header(payload, 'in-reply-to')),
    from: senderOf(payload),
    to: parseAddressList(header(payload, 'to')),
    cc: parseAddressList(header(payload, 'cc')),
    subject: subject === null ? null : stripControl(libmime.decodeWords(subject)).trim() || null,
    snippet: snippetOf(message.snippet, bodyText),
    bodyText,
    labels: Array.isArray(message.labelIds) ? message.labelIds.filter((l) => typeof l === 'string') : [],
    sentAt: sentAtOf(message),
  };
}
