/** The instructions and the per-email message sent to the LLM. */
import { type EmailForExtraction, INTENTS } from './insight.ts';

/** Longest body sent to the model; longer mails are cut (quoted history is dropped first). */
export const MAX_BODY_CHARS = 12_000;

export const SYSTEM_PROMPT = `You extract structured sales and support intelligence from one business email.
Answer with a single JSON object that matches the provided schema, nothing else.

Fields:
- intent: the main purpose of the email, one of: ${INTENTS.join(', ')}.
- intents: every purpose that applies (include the main one).
- sentiment: the writer's tone (positive, neutral, negative); sentiment_score from -1 to 1.
- urgency: high when the writer needs action within about two days or reports something broken or blocking; medium for a deadline within a week or a clear request; low otherwise.
- action_items: concrete things someone must do. owner is "us" when the recipient of an inbound email (our workspace) must act, "them" when the other party committed to act, "unknown" otherwise. due_date as YYYY-MM-DD when stated or implied, else null.
- mentioned_dates: each date or time the email mentions, resolved against the email's sent date and time zone. date as YYYY-MM-DD, time as HH:MM (24h) or null.
- people: people named in the email (not generic roles), with email and role when stated.
- companies: organisations named or evident from signatures and addresses, with their domain when known.
Do not invent facts that are not in the email. Use empty arrays when there is nothing to report.`;

/** A line that opens quoted history: the "On … wrote:" attribution of every major client. */
const ATTRIBUTION =
  /^\s*(On .{4,200}wrote:|Le .{4,200}a écrit\s*:|Am .{4,200}schrieb .{0,200}:|El .{4,200}escribió:|Op .{4,200}schreef .{0,200}:)\s*$/;
/** Outlook's separator lines before a quoted message. */
const SEPARATOR = /^\s*(-{2,}\s*(Original|Forwarded) Message\s*-{2,}|_{10,}|-{5,})\s*$/i;

/**
 * Drops quoted reply history: "> ..." lines, and everything from an attribution line
 * ("On … wrote:"), an Outlook separator, or an Outlook header block ("From: … / Sent: …") on.
 */
export function stripQuotedText(body: string): string {
  const lines = body.split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (ATTRIBUTION.test(line) || SEPARATOR.test(line)) break;
    if (/^\s*From:\s.+/i.test(line) && lines.slice(i + 1, i + 4).some((l) => /^\s*(Sent|Date):\s/i.test(l))) break;
    if (/^\s*>/.test(line)) continue;
    out.push(line);
  }
  return out.join('\n').trim();
}

/** Renders the email as the user message of the request. */
export function renderEmail(email: EmailForExtraction): string {
  let body = stripQuotedText(email.bodyText ?? email.snippet ?? '');
  if (body.length > MAX_BODY_CHARS) body = `${body.slice(0, MAX_BODY_CHARS)}\n[... truncated]`;
  const from = email.fromName ? `${email.fromName} <${email.fromAddress}>` : email.fromAddress;
  return [
    `Direction: ${email.direction === 'inbound' ? 'inbound (the contact wrote to us)' : 'outbound (we wrote to the contact)'}`,
    `From: ${from}`,
    `To: ${email.toAddresses.join(', ')}`,
    `Sent: ${email.sentAt.toISOString()} (workspace time zone: ${email.timezone})`,
    `Subject: ${email.subject ?? ''}`,
    '',
    body,
  ].join('\n');
}
