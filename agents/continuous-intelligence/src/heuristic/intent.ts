/**
 * Intent by weighted phrase rules, read sentence by sentence. Each intent has patterns with
 * weights; a match in a fresh subject counts more than one in the body, a reply's subject
 * ("Re: …") less. The best score wins; ties go to the intent that matters most for follow-up.
 *
 * Two readings keep declines from looking like deals:
 *  - a buying signal (price, demo, purchase, meeting) counts only in a clause about now or later,
 *    and not when negated: "thanks for the demo yesterday" and "we will not pursue the quote"
 *    ask for nothing;
 *  - a decline, an unsubscribe, a cancellation or a complaint that scores at least
 *    {@link DOMINANT} removes every buying intent from the result.
 * Negative rules are skipped when negated themselves ("please don't cancel", "not unhappy").
 */
import type { Intent } from '../insight.ts';
import { clauseAt, isConditional, isNegatedAt, isPastClause } from './tense.ts';
import { sentences } from './text.ts';

type Rule = [RegExp, number];

const RULES: Record<Exclude<Intent, 'other'>, Rule[]> = {
  unsubscribe: [
    [/\bunsubscribe\b/, 4],
    [
      /\b(remove|take|drop) (me|us|this address|[\w.+-]+@[\w.-]+)\b.{0,25}\b(off|from)\b.{0,30}\b(list|lists|mailing|sequence|emails?|newsletter)/,
      5,
    ],
    [/\b(take|remove) me off\b/, 5],
    [/\bopt(ed)?[- ]?out\b/, 3],
    [/\bstop(ped)? (emailing|sending|contacting|messaging|writing to)\b/, 5],
    [/\bno longer (wish|want) to receive\b/, 5],
    [/\bdo not (email|contact) me\b/, 5],
    [/\bi never signed up\b/, 2],
  ],
  out_of_office: [
    [/\b(automatic reply|auto[- ]?reply|autoreply|réponse automatique|abwesenheitsnotiz)\b/, 4],
    [/\bout of (the )?office\b/, 3],
    [/\b(ooo)\b/, 2],
    [/\b(on|from) (annual |parental |maternity |paternity |sick |summer )?(leave|vacation|holiday)\b/, 3],
    [/\b(limited|no) access to (my )?e-?mail\b/, 3],
    [/\b(away|out|absent|travell?ing) (until|till|this week|from)\b/, 2],
    [/\b(mailbox|inbox) is not monitored\b|\bthis is an automatic\b/, 4],
    [/\b(offices?|we) (are|will be) closed\b/, 3],
    [/\bwill (respond|reply|get back to you) when i('m| am) back\b|\bback (in the office )?on\b/, 2],
  ],
  cancellation: [
    [
      /\bcancel(l?ing|l?ation|l?ed)?\b.{0,30}\b(subscription|account|plan|contract|service|renewal|auto[- ]?renew\w*)\b/,
      5,
    ],
    [/\bcancel (before|anything)\b|\bcancel auto\b/, 3],
    [/^cancel (our|my|the)\b/m, 6],
    [/\b(not|won'?t be|will not be|won'?t|will not|decided not to) renew(ing|al)?\b/, 5],
    [/\bnon-renewal\b/, 5],
    [/\bterminat(e|ion)\b.{0,30}\b(contract|agreement|account|subscription)\b/, 4],
    [/\bclose (my|our) account\b/, 5],
    [/\bdowngrad(e|ing)\b/, 5],
    [/\bauto[- ]?renew(al)? (is )?(switched|turned) off\b/, 3],
  ],
  not_interested: [
    [
      /\b(decided|chosen|chose|opted|going|gone|went|picked|selected)\b.{0,25}\b(with|for) (another|a different|an other|other) (vendor|provider|solution|tool|platform|option|company|partner)\b/,
      6,
    ],
    [/\b(went|gone) with (?!the (growth|starter|annual|enterprise))\w+/, 5],
    [/\b(chose|picked|selected|signed with|decided on)\b (?!to\b|the\b|a\b|you\b|your\b)\w+/, 3],
    [/\bsigned with (them|someone else|another)\b/, 5],
    [
      /\b(won'?t|will not|not) be (moving|going) forward\b|\bdecided not to (move forward|proceed|go ahead|pursue|continue)\b|\bnot (moving|going) forward\b/,
      6,
    ],
    [/\b(will not|won'?t|not going to) pursue\b|\bpass on\b|\b(i|we)('ll| will) pass\b|\bgoing to pass\b/, 6],
    [/\b(not|no longer) interested\b/, 6],
    [/\bnot (a|the) right (fit|time|person)\b|\bnot a (good )?fit\b|\bnot the right person\b/, 5],
    [
      /\bnot a priority\b|\bno budget\b|\b(don'?t|do not) have (the |a )?budget\b|\bbudget (freeze|cuts?)\b|\bfroze\b.{0,30}\bspend/,
      5,
    ],
    [/\b(put|putting) (this|it|things|everything) on hold\b|\bon hold\b/, 5],
    [/\bbuild (this|it) (in-house|ourselves|internally)\b|\bin-house\b/, 4],
    [
      /\bstick with (our|the) (current|existing|spreadsheets|process|setup)\b|\b(happy|fine) with (our )?(current|existing)\b/,
      5,
    ],
    [/\b(won'?t|will not|do not|don'?t) be needing\b|\b(won'?t|will not|do not|don'?t) need (an?|the|this|any)\b/, 5],
    [
      /\b(numbers|pricing|price|budget) (just )?(doesn'?t|don'?t|does not|do not) work\b|\boverkill\b|\b(well )?above what we can (spend|afford)\b|\btoo expensive\b/,
      5,
    ],
    [/\bclose (out )?(our|the) opportunity\b|\bclose (our|the) file\b/, 4],
    [/\bnot ready to (change|switch|move)\b|\baren'?t ready to\b/, 4],
    [/\bnobody here (is looking|has bandwidth)\b|\bnot looking for\b/, 3],
  ],
  complaint: [
    [
      /\b(disappoint\w*|frustrat\w*|unacceptable|terrible|awful|appalling|outrageous|ridiculous|unfair|furious|infuriat\w*)\b/,
      3,
    ],
    [/\b(complain\w*|fed up|not happy|unhappy|poor (service|experience|support)|worst|annoying)\b/, 3],
    [/\b(third|fourth|fifth|several|multiple|too many) times?\b|\btwo too many\b/, 2],
    [/\bstill (not|hasn'?t|haven'?t|don'?t|no)\b/, 1],
    [/\bcan'?t happen again\b|\bis not an answer\b|\bescalate\b|\bsomeone (senior|who reads)\b/, 3],
    [/\b(failed|broke|went down|happened|crashed) again\b|\bagain overnight\b/, 2],
    [/\bif (this|it) (isn'?t|is not|doesn'?t get|does not get) (fixed|resolved|sorted)\b/, 3],
    [/\bclose to cancel\w*|\b(thinking|considering) (of |about )?(cancel|leav|switch)\w*/, 3],
    [/\bwhat is going on\b|\bnobody (told|informed) us\b|\bwe found out from\b/, 2],
    [/\bor we will (have to )?(look at|consider) other (options|vendors)\b/, 3],
  ],
  support_issue: [
    [/\b(error|bug|exception|stack ?trace|rate limit)\b/, 2],
    [
      /\b(not working|doesn'?t work|isn'?t working|stopped working|won'?t (load|open|start|sync)|not sync\w*|no longer (contains|works|shows|syncs))\b/,
      3,
    ],
    [/\b(broken|crash(es|ed|ing)?|outage|is down|went down|timeout|timing out|stuck|slower|slow)\b/, 2],
    [
      /\b(can'?t|cannot|unable to|none of us can) (log ?in|sign ?in|access|connect|login|export|import|upload|see|find)\b/,
      3,
    ],
    [/\b(issue|problem|fail(s|ed|ing|ure)?|missing)\b/, 1],
    [/\b(help|support) (with|ticket|request)\b|\bticket #?\d+/, 2],
    [/\bhow (do|can) (i|we)\b|\bwhere (do|can) i\b|\bnot sure (if|whether|the)\b/, 2],
    [/\b(the )?fix (worked|is live)\b|\b(reset|reconnect\w*|rolled (it )?back|reproduce)\b/, 2],
    [/\b(sync|export|import|integration|login|sso|app)\b/, 0.5],
    [/\b(root cause|incident|failover|disruption|post-?mortem|token (expired|revoked)|revoked)\b/, 2],
  ],
  purchase_intent: [
    [/\bready to (buy|purchase|move forward|proceed|sign|go ahead)\b/, 5],
    [
      /\b(send|share|get)( over| through| us| me)? (the |an? )?(contract|order form|agreement|msa|po|purchase order|paperwork|pilot agreement|pilot order form|renewal quote)\b/,
      4,
    ],
    [
      /\b(sign(ed)?|signing) (the |our |both |it )?(contract|agreement|order form|off)?\b.{0,20}\b(attached|this week|by|before|today|through docusign)\b/,
      3,
    ],
    [/\bsigned order form\b|\bpo number\b|\border form\b|\bpilot agreement\b|\bdocusign\b/, 3],
    [/\b(move|moving|go|going) (forward|ahead) with\b/, 3],
    [
      /\b(we|i)('d| would) like to (buy|purchase|order|subscribe|sign up|upgrade|renew|start a (paid )?pilot|go ahead)\b/,
      5,
    ],
    [/\b(planning|plan|want) to (buy|purchase|sign)\b|\bbefore we buy\b/, 4],
    [/\b(start|kick off|go ahead with) (a|the) (paid )?pilot\b/, 4],
    [/\b(approved|signed off|got approval|budget('s| is)? approved)\b/, 3],
    [/\brenew for another\b|\badd \d+ (approver |user )?seats\b|\bcontract to start\b/, 3],
    [/\blet'?s do it\b/, 3],
  ],
  pricing_inquiry: [
    [/\b(pricing|price list|prices?|quote|quotation|proposal)\b/, 3],
    [
      /\bhow much (does|do|is|would|will)\b|\bwhat (would|does|will) .{0,40}\bcost\b|\bwhat .{0,40}\b(would|will|does) cost\b/,
      3,
    ],
    [/\b(cost|costs|fees?|rates?)\b/, 1],
    [/\bper (seat|user|month|year|license|licence|invoice)\b|\/month\b/, 2],
    [/\b(discount|volume pricing|enterprise plan|annual plan|special pricing)\b/, 2],
  ],
  demo_request: [
    [/\b(demo|demonstration|product tour)\b/, 3],
    [/\b(walk ?through|walk us through|show us|see it (properly|in action)|in action|see the \w+ workflows?)\b/, 2],
    [/\b(second session|recording)\b/, 1],
  ],
  meeting_request: [
    [/\b(schedule|set up|book|arrange|find|make) (a |some )?(time|call|meeting|chat|slot|video call|lunch)\b/, 3],
    [
      /\b(meet|meeting|call|chat|catch up|talk|lunch)\b.{0,40}\b(next week|this week|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b/,
      3,
    ],
    [/\b(are you|would you be|you be) (free|available)\b|\bwould you have time\b/, 2],
    [/\b(your availability|available times|time slots?|calendar (invite|hold)|calendly)\b/, 2],
    [
      /\bwould .{1,30} (work|suit) for you\b|\b(monday|tuesday|wednesday|thursday|friday|that|this|\d(am|pm)) works\b|\bsounds good, see you\b|\bsee you (on )?\w+day\b/,
      2,
    ],
    [
      /\b(hop|jump) on a (quick )?call\b|\bcan we (talk|meet|chat|speak|do a (quick )?call)\b|\bcould we (book|do|move|set up)\b/,
      3,
    ],
    [/\b(zoom|google meet|teams) (call|meeting|link)\b|\bhow about \d/, 1],
    [/\b(meeting|call|lunch|coffee)\b/, 1],
  ],
  billing: [
    [/\b(billing|billed|receipt|refund|remittance|vat number|billing address)\b/, 3],
    [
      /\b(charged|overcharged|double[- ]charged|charge (on|of)|retry the charge|payment (failed|declined)|card (expired|on file))\b/,
      3,
    ],
    [
      /\b(invoice|invoices)\b.{0,20}\b(#|inv-|number|for (december|january|february|march|april|may|june|july|august|september|october|november)|from 20\d\d|charged|past due|overdue|due on)\b|\binv-\d+/,
      3,
    ],
    [/\b(past due|overdue|paid invoice)\b|\b(paid|sent|payment was sent)\b.{0,25}\bby (ach|wire|check)\b/, 3],
    [/\b(payment|credit card)\b/, 0.5],
  ],
  partnership: [
    [
      /\bpartnership\b|\bpartnering\b|\bpartner (program|agreement)\b|\b(implementation|integration|referral|certified) partner\b/,
      3,
    ],
    [
      /\b(collaborat\w+|reseller|affiliate|co-?marketing|co-host|joint (venture|webinar)|referral program|distribution agreement|alliances)\b/,
      3,
    ],
    [/\bintegrat(e|ion) (with|partner)\b/, 1],
  ],
  follow_up: [
    [/\b(follow(ing)?[- ]up|circling back|circle back|checking in|touching base|touch base)\b/, 4],
    [
      /\b(any (update|news)|haven'?t heard back|haven'?t heard anything|just a (quick )?reminder|gentle reminder|bump(ing)? this)\b/,
      3,
    ],
    [/\b(as discussed|as promised|per our (call|conversation)|get back to you|discuss (it )?internally)\b/, 2],
    [/\bsorry for the (silence|delay|slow reply)\b/, 1],
  ],
  introduction: [
    [
      /\b(i'?d like to|let me|allow me to|wanted to) introduce\b|\bconnecting you( two)?\b|\b(please )?meet (my|our) \w+|^\w+, meet \w+/,
      4,
    ],
    [/\bmy name is\b|\bintroduce myself\b/, 3],
    [/\b(i'?m|i am) reaching out\b/, 2],
    [/\b(introduc(ing|tion)|intro:|connect(ing)? you with)\b|\bwelcome( to| aboard|!)\b/, 3],
    [/\b(teams|companies|firms|customers|manufacturers) like (yours|\w+) (typically|usually|often)\b/, 3],
    [/\bwould you be open to\b/, 2],
  ],
  feedback: [
    [/\b(feedback|suggestions?|feature request)\b/, 3],
    [/\b(would be (nice|great) if|it would help if|wish (it|you|there)|please add a way)\b/, 2],
    [
      /\b(love|loving|really like|enjoy(ing)?) (the|your|using)\b|\bjust wanted to say thank you\b|\brecommended you\b/,
      3,
    ],
    [/\b(survey|nps|how likely are you to recommend|gave you a \d+)\b/, 3],
    [/\b(harder|easier) to use\b|\bis fantastic\b/, 2],
  ],
  information_request: [
    [/\b(could|can|would) you (send|share|provide|tell|explain|clarify|confirm)\b/, 2],
    [/\b(more (information|info|details)|further details|a few questions|quick question|i have a question)\b/, 2],
    [
      /\b(do you (have|offer|support|handle|integrate)|does (it|ledgerly|your \w+) (support|work|integrate|have|handle|sync))\b/,
      2,
    ],
    [/\b(wondering (if|whether)|is there a limit|can (we|a|an) \w+ (see|connect|do|use))\b/, 2],
    [/\b(soc 2|security questionnaire|data retention|reference customer|references|time stats)\b/, 2],
  ],
};

/** Tie-break order: the intents whose follow-up matters most first. */
const PRIORITY: Intent[] = [
  'unsubscribe',
  'out_of_office',
  'cancellation',
  'not_interested',
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

/** Intents lead scoring counts as buying interest. */
export const BUYING: ReadonlySet<Intent> = new Set([
  'pricing_inquiry',
  'demo_request',
  'purchase_intent',
  'meeting_request',
]);
/** Intents of a contact who says no, wants out, or is unhappy. */
export const NEGATIVE: ReadonlySet<Intent> = new Set(['not_interested', 'unsubscribe', 'cancellation', 'complaint']);
/**
 * Buying signals must be live (not past, not conditional, not negated; a purchase may be told in
 * the past tense); negative ones only not negated.
 */
const NEEDS_LIVE: ReadonlySet<Intent> = new Set(['pricing_inquiry', 'demo_request', 'meeting_request']);
const NEEDS_UNNEGATED: ReadonlySet<Intent> = new Set(['unsubscribe', 'cancellation', 'complaint', 'feedback']);

const SUBJECT_WEIGHT = 1.5;
const REPLY_SUBJECT_WEIGHT = 0.5;
/** Below this an intent is not reported at all. */
const MIN_SCORE = 2;
/** A negative intent this strong rules out every buying intent. */
export const DOMINANT = 4;

export interface IntentResult {
  intent: Intent;
  intents: Intent[];
  scores: Partial<Record<Intent, number>>;
}

/** Does `re` match somewhere in `text` in a context the intent accepts? */
const GLOBAL = new WeakMap<RegExp, RegExp>();

function matches(intent: Intent, re: RegExp, text: string): boolean {
  let global = GLOBAL.get(re);
  if (!global) {
    global = new RegExp(re.source, `${re.flags}g`);
    GLOBAL.set(re, global);
  }
  for (const m of text.matchAll(global)) {
    const i = m.index!;
    if (NEEDS_LIVE.has(intent) || intent === 'purchase_intent') {
      if (isNegatedAt(text, i)) continue;
      const sentence = sentenceAround(text, i);
      // "If it fails again, I'll jump on a call" asks for no call.
      if (isConditional(sentence.text)) continue;
      // A purchase is often announced in the past tense ("the board approved it last night").
      if (intent !== 'purchase_intent' && isPastClause(clauseAt(sentence.text, i - sentence.start), sentence.text))
        continue;
    } else if (NEEDS_UNNEGATED.has(intent) && isNegatedAt(text, i, 3)) continue;
    return true;
  }
  return false;
}

function sentenceAround(text: string, index: number): { text: string; start: number } {
  let start = index;
  while (start > 0 && !/[.!?\n]/.test(text[start - 1]!)) start--;
  let end = index;
  while (end < text.length && !/[.!?\n]/.test(text[end]!)) end++;
  return { text: text.slice(start, end + 1), start };
}

export function classifyIntent(subject: string, body: string): IntentResult {
  const isReply = /^\s*(re|aw|sv|vs|antw|fwd?|wg|tr)\s*:/i.test(subject);
  const s = subject
    .toLowerCase()
    .replace(/^((re|fwd?|aw|wg|sv|vs|antw|tr)\s*:\s*)+/i, '')
    .replace(/[’]/g, "'");
  const b = sentences(body.toLowerCase().replace(/[’]/g, "'")).join('\n');
  const subjectWeight = isReply ? REPLY_SUBJECT_WEIGHT : SUBJECT_WEIGHT;
  const scores: Partial<Record<Intent, number>> = {};
  for (const intent of PRIORITY) {
    let score = 0;
    for (const [re, weight] of RULES[intent as Exclude<Intent, 'other'>]) {
      if (matches(intent, re, s)) score += weight * subjectWeight;
      if (matches(intent, re, b)) score += weight;
    }
    if (score > 0) scores[intent] = score;
  }
  // Auto-replies quote words of every kind ("urgent", "meeting"); their nature wins outright.
  if ((scores.out_of_office ?? 0) >= 4) return { intent: 'out_of_office', intents: ['out_of_office'], scores };

  // A customer who cancels is cancelling, whatever else they say no to.
  if ((scores.cancellation ?? 0) >= DOMINANT && (scores.not_interested ?? 0) > (scores.cancellation ?? 0))
    scores.not_interested = scores.cancellation;
  const negativeStrength = Math.max(0, ...[...NEGATIVE].map((i) => scores[i] ?? 0));
  const ranked = PRIORITY.filter((i) => (scores[i] ?? 0) >= MIN_SCORE)
    .filter((i) => !(negativeStrength >= DOMINANT && BUYING.has(i)))
    .sort((x, y) => (scores[y] ?? 0) - (scores[x] ?? 0) || PRIORITY.indexOf(x) - PRIORITY.indexOf(y));
  // A direct question with no other signal is still a request for information.
  if (ranked.length === 0 && /\?/.test(b))
    return { intent: 'information_request', intents: ['information_request'], scores };
  const [first] = ranked;
  if (first === undefined) return { intent: 'other', intents: ['other'], scores };
  // An email whose point is a no lends no buying interest to the contact, even in passing.
  const intents = NEGATIVE.has(first) ? ranked.filter((i) => !BUYING.has(i)) : ranked;
  return { intent: first, intents, scores };
}
