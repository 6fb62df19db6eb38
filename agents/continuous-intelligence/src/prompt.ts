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

/** Drops quoted reply history ("> ..." lines, "On ... wrote:" and what follows). */
export function stripQuotedText(body: string): string {
  const lines = body.split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    if (/^\s*On .{4,200}wrote:\s*$/.test(line) || /^-{2,}\s*(Original|Forwarded) Message\s*-{2,}/i.test(line)) break;
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
