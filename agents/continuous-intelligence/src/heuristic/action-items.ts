/**
 * Action items: requests made of the reader ("could you send…", "please confirm…") and
 * commitments the writer made ("I'll send the contract by Friday"). Owners are from the
 * workspace's point of view: on an inbound email a request is for us, a commitment is theirs.
 */
import type { ActionItem } from '../insight.ts';
import { extractDates } from './dates.ts';
import { sentences } from './text.ts';

const REQUEST = [
  /\b(could|can|would|will) you (please )?(send|share|review|confirm|let|sign|provide|update|call|check|fix|look|advise|schedule|set up|resend|forward|approve|get back)\b/i,
  /^(please|kindly) \w+/i,
  /\b(please|kindly) (send|share|review|confirm|let|sign|provide|update|call|check|fix|look|advise|schedule|resend|forward|approve|get back|remove|cancel|refund|process)\b/i,
  /\blet me know\b/i,
  /\b(i|we) need you to\b/i,
  /\bmake sure\b/i,
];
const COMMITMENT =
  /\b(i|we)('ll| will| am going to|'m going to| are going to| plan to| intend to)\s+(?!be (out|away|back|on leave|travell?ing|offline))\w+/i;
/** Courtesies that look like requests but ask for nothing. */
const PLEASANTRY =
  /^(please )?(let me know if you have any (other |further )?questions|let me know if (there'?s|there is) anything else|thanks|thank you|please don'?t hesitate)/i;

export function extractActionItems(
  main: string,
  direction: 'inbound' | 'outbound',
  sentAt: Date,
  timeZone: string,
): ActionItem[] {
  const items: ActionItem[] = [];
  for (const sentence of sentences(main)) {
    if (PLEASANTRY.test(sentence)) continue;
    const isRequest = REQUEST.some((re) => re.test(sentence));
    const isCommitment = !isRequest && COMMITMENT.test(sentence);
    if (!isRequest && !isCommitment) continue;
    const forReader = direction === 'inbound' ? 'us' : 'them';
    const forWriter = direction === 'inbound' ? 'them' : 'us';
    const due = extractDates(sentence, sentAt, timeZone)[0]?.date ?? null;
    items.push({
      description: sentence.length > 300 ? `${sentence.slice(0, 297)}...` : sentence,
      owner: isRequest ? forReader : forWriter,
      due_date: due,
    });
    if (items.length >= 20) break;
  }
  return items;
}
