/** Gmail Message resources as users.messages.get?format=full returns them. */
import type { GmailMessage, GmailMessagePart } from '../src/gmail/parse-message.ts';

export const b64url = (text: string | Buffer) => Buffer.from(text).toString('base64url');

export interface MessageSpec {
  id: string;
  threadId?: string;
  from: string;
  to?: string;
  cc?: string;
  subject?: string;
  /** Minutes after 2026-03-02T09:00:00Z. */
  minute: number;
  text?: string;
  html?: string;
  labels?: string[];
  messageId?: string;
  inReplyTo?: string;
  extraParts?: GmailMessagePart[];
}

export const BASE_TIME = Date.parse('2026-03-02T09:00:00Z');

const headers = (entries: Record<string, string | undefined>) =>
  Object.entries(entries)
    .filter(([, v]) => v !== undefined)
    .map(([name, value]) => ({ name, value: value! }));

/** A message with a multipart/alternative body (text and/or HTML) and optional extra parts. */
export function message(spec: MessageSpec): GmailMessage {
  const sentAt = BASE_TIME + spec.minute * 60_000;
  const alternatives: GmailMessagePart[] = [];
  if (spec.text !== undefined) {
    alternatives.push({
      mimeType: 'text/plain',
      headers: headers({ 'Content-Type': 'text/plain; charset="UTF-8"' }),
      body: { size: spec.text.length, data: b64url(spec.text) },
    });
  }
  if (spec.html !== undefined) {
    alternatives.push({
      mimeType: 'text/html',
      headers: headers({ 'Content-Type': 'text/html; charset="UTF-8"' }),
      body: { size: spec.html.length, data: b64url(spec.html) },
    });
  }
  const top = headers({
    From: spec.from,
    To: spec.to,
    Cc: spec.cc,
    Subject: spec.subject,
    Date: new Date(sentAt).toUTCString(),
    'Message-ID': spec.messageId ? `<${spec.messageId}>` : undefined,
    'In-Reply-To': spec.inReplyTo ? `<${spec.inReplyTo}>` : undefined,
  });
  const alternative: GmailMessagePart = {
    mimeType: 'multipart/alternative',
    headers: headers({ 'Content-Type': 'multipart/alternative; boundary="b1"' }),
    body: { size: 0 },
    parts: alternatives,
  };
  const payload: GmailMessagePart = spec.extraParts
    ? {
        partId: '',
        mimeType: 'multipart/mixed',
        headers: [...top, { name: 'Content-Type', value: 'multipart/mixed; boundary="b0"' }],
        body: { size: 0 },
        parts: [alternative, ...spec.extraParts],
      }
    : { ...alternative, partId: '', headers: [...top, ...(alternative.headers ?? [])] };
  return {
    id: spec.id,
    threadId: spec.threadId ?? spec.id,
    labelIds: spec.labels ?? ['INBOX'],
    snippet: (spec.text ?? '').slice(0, 100).replace(/'/g, '&#39;'),
    internalDate: String(sentAt),
    payload,
  };
}
