/**
 * Intent by weighted phrase rules. Each intent has patterns with weights; a match in the subject
 * counts more than one in the body. The best score wins; ties go to the intent that matters most
 * for follow-up (an unsubscribe or an outage outranks a meeting request).
 */
import type { Intent } from '../insight.ts';

type Rule = [RegExp, number];

const RULES: Record<Exclude<Intent, 'other'>, Rule[]> = {
  not_interested: [],
  unsubscribe: [
    [/\bunsubscribe\b/, 4],
    [/\b(remove me from|take me off) (your|the|this)\b.{0,20}\b(list|mailing)/, 4],
    [/\bopt[- ]?out\b/, 3],
    [/\bstop (emailing|sending|contacting|messaging)\b/, 4],
    [/\bno longer (wish|want) to receive\b/, 4],
    [/\bdo not (email|contact) me\b/, 4],
  ],
  out_of_office: [
    [/\b(automatic reply|auto[- ]?reply|autoreply)\b/, 4],
    [/\bout of (the )?office\b/, 3],
    [/\b(ooo)\b/, 2],
    [/\bon (annual |parental |maternity |paternity |sick )?(leave|vacation|holiday)\b/, 2],
    [/\b(limited|no) access to (my )?e-?mail\b/, 2],
    [/\b(away|out) until\b/, 2],
  ],
  cancellation: [
    [/\bcancel(l?ing|l?ation|l?ed)?\b.{0,30}\b(subscription|account|plan|contract|service|order|renewal)\b/, 4],
    [/\b(not|won'?t be|will not be) renew(ing)?\b/, 4],
    [/\bterminat(e|ion)\b.{0,30}\b(contract|agreement|account|subscription)\b/, 4],
    [/\bclose (my|our) account\b/, 4],
    [/\bdowngrad(e|ing)\b/, 2],
  ],
  complaint: [
    [/\b(disappointed|disappointing|frustrat\w*|unacceptable|terrible|awful|appalling|outrageous|ridiculous)\b/, 2],
    [/\b(complain\w*|fed up|not happy|unhappy|poor service|worst)\b/, 2],
    [/\b(third|fourth|several|multiple) times?\b/, 1],
    [/\bstill (not|hasn'?t|haven'?t|no)\b/, 1],
  ],
  support_issue: [
    [/\b(error|bug|exception|stack ?trace)\b/, 2],
    [/\b(not working|doesn'?t work|isn'?t working|stopped working|won'?t (load|open|start|sync))\b/, 3],
    [/\b(broken|crash(es|ed|ing)?|outage|is down|went down|timeout|timing out)\b/, 2],
    [/\b(can'?t|cannot|unable to) (log ?in|sign ?in|access|connect|login|export|import|upload|see|find)\b/, 3],
    [/\b(issue|problem|fail(s|ed|ing|ure)?)\b/, 1],
    [/\b(help|support) (with|ticket|request)\b/, 1],
  ],
  purchase_intent: [
    [/\bready to (buy|purchase|move forward|proceed|sign|go ahead)\b/, 4],
    [/\b(send|share) (over |us |me )?(the )?(contract|order form|agreement|msa|po|purchase order|paperwork)\b/, 3],
    [/\b(sign(ed)?|signing) the (contract|agreement|order form)\b/, 3],
    [/\b(move|moving) forward with\b/, 2],
    [/\b(we|i)('d| would) like to (buy|purchase|order|subscribe|sign up|upgrade)\b/, 3],
    [/\b(approved|got approval|budget (is )?approved)\b/, 2],
  ],
  pricing_inquiry: [
    [/\b(pricing|price list|prices?|quote|quotation)\b/, 3],
    [/\bhow much (does|do|is|would|will)\b/, 3],
    [/\b(cost|costs|fees?|rates?)\b/, 1],
    [/\bper (seat|user|month|year|license|licence)\b/, 2],
    [/\b(discount|volume pricing|enterprise plan|annual plan)\b/, 2],
  ],
  demo_request: [
    [/\b(demo|demonstration|product tour)\b/, 3],
    [/\b(walk ?through|walk us through|show us)\b/, 2],
    [/\b(free )?trial\b/, 1],
  ],
  meeting_request: [
    [/\b(schedule|set up|book|arrange|find) (a |some )?(time|call|meeting|chat|slot)\b/, 3],
    [
      /\b(meet|meeting|call|chat|catch up)\b.{0,40}\b(next week|this week|tomorrow|monday|tuesday|wednesday|thursday|friday)\b/,
      3,
    ],
    [/\b(are you|would you be) (free|available)\b/, 2],
    [/\b(your availability|available times|time slots?|calendar invite|calendly)\b/, 2],
    [/\bwould .{1,30} (work|suit) for you\b/, 2],
    [/\b(hop|jump) on a (quick )?call\b/, 3],
    [/\b(zoom|google meet|teams) (call|meeting|link)\b/, 1],
    [/\b(meeting|call)\b/, 1],
  ],
  billing: [
    [/\b(invoice|billing|billed|receipt|refund)\b/, 3],
    [/\b(charged|overcharged|double[- ]charged|charge on)\b/, 3],
    [/\b(payment|credit card|card on file)\b/, 2],
  ],
  partnership: [
    [/\bpartner(ship|ing)?\b/, 3],
    [/\b(collaborat\w+|reseller|affiliate|co-?marketing|joint venture|referral program)\b/, 2],
    [/\bintegrat(e|ion) (with|partner)\b/, 1],
  ],
  follow_up: [
    [/\b(follow(ing)?[- ]up|circling back|circle back|checking in|touching base|touch base)\b/, 3],
    [/\b(any (update|news)|haven'?t heard back|just a (quick )?reminder|gentle reminder|bump(ing)? this)\b/, 3],
    [/\b(as discussed|as promised|per our (call|conversation))\b/, 1],
  ],
  introduction: [
    [/\b(i'?d like to|let me|allow me to|wanted to) introduce\b/, 3],
    [/\bmy name is\b/, 2],
    [/\b(i'?m|i am) reaching out\b/, 2],
    [/\b(introduc(ing|tion)|connect(ing)? you with)\b/, 2],
  ],
  feedback: [
    [/\b(feedback|suggestion|feature request)\b/, 3],
    [/\b(would be (nice|great) if|it would help if|wish (it|you|there))\b/, 2],
    [/\b(love|loving|really like|enjoy(ing)?) (the|your|using)\b/, 2],
  ],
  information_request: [
    [/\b(could|can|would) you (send|share|provide|tell|explain|clarify|confirm)\b/, 2],
    [/\b(more (information|info|details)|further details)\b/, 2],
    [/\b(do you (have|offer|support)|does (it|your \w+) (support|work|integrate|have))\b/, 2],
    [/\b(wondering (if|whether)|quick question|i have a question)\b/, 2],
  ],
};

/** Tie-break order: the intents whose follow-up matters most first. */
const PRIORITY: Intent[] = [
  'unsubscribe',
  'out_of_office',
  'cancellation',
  'complaint',
  'support_issue',
  'purchase_intent',
  'pricing_inquiry',
  'demo_request',
  'meeting_request',
  'billing',
  'partnership',
  'follow_up',
  'introduction',
  'feedback',
  'information_request',
];

const SUBJECT_WEIGHT = 1.5;
/** Below this an intent is not reported at all. */
const MIN_SCORE = 2;

export interface IntentResult {
  intent: Intent;
  intents: Intent[];
  scores: Partial<Record<Intent, number>>;
}

export function classifyIntent(subject: string, body: string): IntentResult {
  const s = subject.toLowerCase().replace(/^((re|fwd?|aw|wg)\s*:\s*)+/i, '');
  const b = body.toLowerCase();
  const scores: Partial<Record<Intent, number>> = {};
  for (const intent of PRIORITY) {
    let score = 0;
    for (const [re, weight] of RULES[intent as Exclude<Intent, 'other'>]) {
      if (re.test(s)) score += weight * SUBJECT_WEIGHT;
      if (re.test(b)) score += weight;
    }
    if (score > 0) scores[intent] = score;
  }
  // Auto-replies quote words of every kind ("urgent", "meeting"); their nature wins outright.
  if ((scores.out_of_office ?? 0) >= 4) return { intent: 'out_of_office', intents: ['out_of_office'], scores };

  const ranked = PRIORITY.filter((i) => (scores[i] ?? 0) >= MIN_SCORE).sort(
    (x, y) => (scores[y] ?? 0) - (scores[x] ?? 0) || PRIORITY.indexOf(x) - PRIORITY.indexOf(y),
  );
  // A direct question with no other signal is still a request for information.
  if (ranked.length === 0 && /\?/.test(b))
    return { intent: 'information_request', intents: ['information_request'], scores };
  const [first] = ranked;
  if (first === undefined) return { intent: 'other', intents: ['other'], scores };
  return { intent: first, intents: ranked, scores };
}
