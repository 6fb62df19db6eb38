/**
 * Action items: requests made of the reader ("could you send…", "please confirm…", "I need a
 * root cause analysis by Thursday") and commitments the writer made ("I'll send the contract by
 * Friday"). Owners are from the workspace's point of view: on an inbound email a request is for
 * us and a commitment is theirs; on an outbound email the other way round.
 *
 * Not action items: courtesies ("let me know if you have questions"), conditional promises
 * ("if anything changes I'll reach out", "once it's signed I'll…"), negated ones ("we will not
 * pursue it"), and plain questions ("how do I add an approver?"), whose answer is the reply.
 */
import type { ActionItem } from '../insight.ts';
import type { DatedMention } from './dates.ts';
import { isConditional } from './tense.ts';

/** Verbs a reader is asked to do something with. */
const VERB =
  '(send|share|review|confirm|let|sign|provide|update|call|check|fix|look|advise|schedule|set|resend|forward|approve|get|tell|connect|pull|move|make|do|book|arrange|issue|reissue|correct|explain|refund|cancel|close|remove|take|escalate|stop|retry|try|reconnect|bring|add|switch|email|process|acknowledge|put|find|show|walk|include|help|give|reply|ensure|treat)';
const REQUESTS: RegExp[] = [
  // "could you send", "can someone confirm", "could we move our call", "would you be able to walk us through"
  new RegExp(
    `\\b(could|can|would|will) (you|someone|somebody|your team)( (please|also|actually|senior|quickly))* ${VERB}\\b`,
    'i',
  ),
  // "could we schedule a demo" asks the reader to arrange something; "can we talk on Friday?"
  // only proposes a time.
  /\b(could|can) we (please )?(schedule|set up|book|arrange|move|reschedule|find time|make it)\b/i,
  new RegExp(`\\bwould you be able to ${VERB}\\b`, 'i'),
  new RegExp(`\\b(is there a|any chance you could) .{0,30}\\byou could ${VERB}\\b`, 'i'),
  /^(please|kindly) \w+/i,
  new RegExp(`\\b(please|kindly) (also )?(make sure|${VERB})\\b`, 'i'),
  // A bare imperative opening the sentence: "Send me whatever slot works", "Cancel our contract".
  /^(send|share|cancel|close|remove|take|stop|call|forward|update|fix|escalate|confirm|unsubscribe|reissue|refund)\b(?! you)/i,
  /\b(i|we) need you to\b/i,
  /\b(i|we) need (a|an|the|your|our|someone|somebody|this|that|these|those|copies|it)\b/i,
  /\b(i|we|our \w+( team)?)('d| would) like (you|someone|comments|a |an |the |copies)/i,
  /\b(i|we) (want|expect) (a|an|someone|the)\b.{0,60}\b(call|refund|analysis|answer|explanation|confirmation)\b/i,
  /\bmake sure\b/i,
];
const COMMITMENT =
  /\b(i|we)('ll| will| am going to|'m going to| are going to| plan to| intend to)\s+(also |then |personally )?(?!be (out|away|back|on leave|travell?ing|offline|reading|able)|not\b|have to\b|need to\b|stick\b|let you (know|take)\b|let you\b|pass\b|reply when\b|respond\b|look at other\b)\w+/i;
/** Courtesies that look like requests but ask for nothing. */
const PLEASANTRY =
  /^(please )?(let me know if you have any (other |further )?questions|let me know if (there'?s|there is) anything else|thanks|thank you|please don'?t hesitate|no reply needed|please ignore|for (urgent|anything)\b)/i;
/** Auto-reply instructions ("please contact my colleague…") are not tasks. */
const AUTO_REPLY =
  /\b(out of (the )?office|automatic reply|on (parental |annual |summer )?(leave|holiday|vacation))\b/i;

export function extractActionItems(
  sentences: string[],
  direction: 'inbound' | 'outbound',
  dates: DatedMention[],
): ActionItem[] {
  const items: ActionItem[] = [];
  const forReader = direction === 'inbound' ? 'us' : 'them';
  const forWriter = direction === 'inbound' ? 'them' : 'us';
  sentences.forEach((sentence, si) => {
    if (PLEASANTRY.test(sentence) || AUTO_REPLY.test(sentence)) return;
    const due = dates.find((d) => d.sentence === si)?.date ?? null;
    const description = sentence.length > 300 ? `${sentence.slice(0, 297)}...` : sentence;
    // A sentence can hold a request and a commitment ("Please sign both, and I'll kick off
    // onboarding"): each clause is read on its own.
    const clauses = sentence.split(/,?\s+(?:and|but)\s+(?=(?:i|we)(?:'ll| will)\b)|;\s*/i);
    const owners = new Set<'us' | 'them'>();
    // "If it fails again, reply here and I'll jump on a call": the condition covers it all.
    if (isConditional(sentence)) return;
    for (const clause of clauses) {
      if (isConditional(clause)) continue;
      if (REQUESTS.some((re) => re.test(clause.trim()))) owners.add(forReader);
      else if (COMMITMENT.test(clause) && !/\?\s*$/.test(clause)) owners.add(forWriter);
    }
    for (const owner of owners) items.push({ description, owner, due_date: due });
  });
  return items.slice(0, 20);
}
