/** The instructions and the per-email message sent to the LLM. */
import { BUYING_INTENTS, type EmailForExtraction, INTENTS, NEGATIVE_INTENTS } from './insight.ts';

/** Longest body sent to the model; longer mails are cut (quoted history is dropped first). */
export const MAX_BODY_CHARS = 12_000;

/**
 * The instructions. They state the same conventions the labelled corpus (eval/LABELLING.md) and
 * the heuristic rules follow, so both extractors produce insights that mean the same thing.
 */
export const SYSTEM_PROMPT = `You extract structured sales and support intelligence from one business email.
Answer with a single JSON object that matches the provided schema, nothing else.

"Us" is the workspace whose mailbox this is. The Direction line says whether the contact wrote to us (inbound) or we wrote to the contact (outbound).

Fields:
- intent: the main purpose of the email, one of: ${INTENTS.join(', ')}.
  - ${NEGATIVE_INTENTS.join(', ')} are the contact saying no or being unhappy. not_interested: declines of any kind (chose another vendor, no budget, not a fit, on hold, "not now"). A deal lost on price is not_interested, never pricing_inquiry. unsubscribe wins over not_interested when the writer also asks to stop receiving mail. cancellation is an existing customer ending or not renewing. complaint is dissatisfaction as the point of the email; a calm problem report is support_issue.
  - ${BUYING_INTENTS.join(', ')} only when the writer asks for it now. A price, demo, call or meeting mentioned in the past tense ("thanks for the great demo yesterday"), in a condition ("if it fails again, I'll call"), or negated ("we will not pursue the quote") does not make the email one. Praise for a past demo plus "let's start the pilot" or "send the contract" is purchase_intent.
  - out_of_office covers every automatic reply. other: an FYI or a thank-you with nothing else.
  - For outbound email, the intent is what our message does: proposing a meeting is meeting_request, a nudge follow_up, a first cold email introduction, a quote pricing_inquiry, a contract or order form sent for signature purchase_intent, an answer to a ticket support_issue.
- intents: every purpose that applies (include the main one). When the main intent is one of ${NEGATIVE_INTENTS.join(', ')}, list none of ${BUYING_INTENTS.join(', ')}.
- sentiment: the writer's stance toward us and the business at hand (positive, neutral, negative); sentiment_score from -1 to 1. Declines, deferrals, cancellations, unsubscribes and complaints are negative even when written politely; so is a report of something broken that hurts the writer. Questions, logistics, auto-replies, a single "thanks", and our own mail that just informs are neutral. Positive needs real enthusiasm, praise, or agreement to go ahead.
- urgency: high when the writer needs action within about two days or something is broken or blocking now; medium for a deadline within a week or a request that the reader act now; low when nothing needs doing soon (declines, feedback, FYIs, far-off follow-ups, auto-replies, "no rush").
- action_items: things a party is asked, told or has committed to do. owner from our point of view: on inbound mail a request of the reader ("could you…", "please…", "I need a root cause analysis by Thursday", "we need a quote by Friday") is "us" and the writer's own commitment ("I'll send…") is "them"; on outbound mail the other way round; "unknown" if it cannot be told. Not action items: pleasantries, advice or maybes ("maybe check back in Q4"), conditional promises ("if anything changes I'll reach out", "once it's signed I'll…"), auto-reply instructions, plain questions, proposing a time ("can we talk Friday?"). due_date as YYYY-MM-DD when stated or implied, else null.
- mentioned_dates: each day the email mentions in its own text (not in quoted history or a reply's "Re:" subject), resolved against the sent time in the workspace time zone. A weekday in a past-tense sentence ("the sync failed on Tuesday morning") is the most recent such day before the sent day; otherwise a bare weekday is the next one after it ("by Thursday" written on a Thursday is a week later); "last Tuesday" is the one before; weekdays after "next week" are next week's. "today", "tonight", "this morning", "end of day" are the sent day; "end of the month" its last day; "end of the week" that week's Friday; a range gives its first and last day; "May 5 and 6" both days. Spans ("next week", "Q3"), offsets ("in two weeks", "three weeks ago") and durations ("a 30-minute call") are not dates. date as YYYY-MM-DD, time as HH:MM (24h, as written) or null.
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
