/**
 * The offline extractor: rules and lexicons, deterministic, free. Used when no API key is set and
 * when a workspace has spent its monthly AI budget.
 */
import { extractActionItems } from './heuristic/action-items.ts';
import { type DatedMention, resolveDates, WEEKDAY_NAMES } from './heuristic/dates.ts';
import { extractCompanies, extractPeople } from './heuristic/entities.ts';
import { classifyIntent, type IntentResult, NEGATIVE } from './heuristic/intent.ts';
import { fromRaw, type SentimentResult, scoreSentiment } from './heuristic/sentiment.ts';
import { clauseAt, isNegatedAt, isPastClause } from './heuristic/tense.ts';
import { daysBetween, isReplySubject, localDay, sentences, splitBody } from './heuristic/text.ts';
import type { ActionItem, EmailForExtraction, Extractor, Insight } from './insight.ts';
import { ZERO_USAGE } from './insight.ts';

/** Version of the rule set, stored as email_insights.model so re-runs can be told apart. */
export const HEURISTIC_MODEL = 'heuristic-v2';

/** Mailing-list footers mention "unsubscribe" without the writer asking for it. */
const FOOTER =
  /(click|tap) here to unsubscribe|to unsubscribe|unsubscribe (here|link|from this list)|^\s*unsubscribe \||manage (your )?(email |subscription )?preferences|you('re| are) receiving this/i;

/** Words that make anything urgent, unless negated ("not urgent"). */
const URGENT =
  /\b(urgent(ly)?|asap|a\.s\.a\.p|immediately|right away|critical|emergency|as soon as possible|time[- ]sensitive|blocker|blocking|production is down|site is down|end of (the )?day|close of business|eod|cob)\b/i;
/** Something is broken for the writer right now. */
const BROKEN =
  /\b(not working|stopped working|isn'?t working|doesn'?t work|fails?|failing|failed again|error \d{3}|is down|are down|stuck|can'?t (log ?in|sign ?in|access)|cannot (log ?in|access)|none of us can|blocking|crash(es|ing)?)\b/i;
/** The writer says there is no hurry. */
const RELAXED =
  /\b(no rush|not urgent|no hurry|whenever you (get a chance|can)|when you get a chance|no reply needed)\b/i;

export function extractHeuristic(email: EmailForExtraction): Insight {
  const { main, signature } = splitBody(email.bodyText, email.snippet);
  const body = main
    .split('\n')
    .filter((l) => !FOOTER.test(l))
    .join('\n');
  const subject = email.subject ?? '';
  // A reply's subject repeats the earlier message: it says little about this one.
  const freshSubject = isReplySubject(subject) ? '' : subject;
  const bodySentences = sentences(body);
  const intent = classifyIntent(subject, body);
  const bodyDates = resolveDates(bodySentences, email.sentAt, email.timezone);
  const mentionedDates = [...subjectDates(freshSubject, bodyDates, email), ...bodyDates];
  const actionItems =
    intent.intent === 'out_of_office' ? [] : extractActionItems(bodySentences, email.direction, bodyDates);
  const entityInput = { ...email, main: body, signature };
  const sentiment = sentimentOf(`${freshSubject}\n${body}`, intent, email.direction);
  return {
    intent: intent.intent,
    intents: intent.intents,
    sentiment: sentiment.sentiment,
    sentiment_score: sentiment.score,
    urgency: urgencyOf(`${freshSubject}\n${body}`, intent, bodyDates, actionItems, email),
    action_items: actionItems,
    mentioned_dates: dedupe(mentionedDates)
      .map(({ text, date, time }) => ({ text, date, time }))
      .slice(0, 20),
    people: extractPeople(entityInput),
    companies: extractCompanies(entityInput),
  };
}

/**
 * Dates of a fresh subject ("Call on Sunday?"). A weekday the body names too is left to the
 * body, which has the context to tell a past Tuesday from a coming one.
 */
function subjectDates(subject: string, body: DatedMention[], email: EmailForExtraction): DatedMention[] {
  if (subject === '') return [];
  const named = (text: string) => WEEKDAY_NAMES.filter((d) => text.toLowerCase().includes(d));
  const bodyWeekdays = new Set(body.flatMap((d) => named(d.text)));
  return resolveDates([subject], email.sentAt, email.timezone).filter(
    (d) => !named(d.text).some((w) => bodyWeekdays.has(w)),
  );
}

function dedupe(dates: DatedMention[]): DatedMention[] {
  const seen = new Set<string>();
  return dates.filter((d) => {
    const key = `${d.date} ${d.time ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Sentiment is the writer's stance: a decline, an unsubscribe, a cancellation or a complaint is
 * negative however politely it is put; a buyer agreeing to go ahead is positive; an auto-reply
 * has no stance; and our own mail describes problems without taking a negative stance.
 */
function sentimentOf(text: string, intent: IntentResult, direction: 'inbound' | 'outbound'): SentimentResult {
  const lexical = scoreSentiment(text);
  if (intent.intent === 'out_of_office') return fromRaw(0);
  if (direction === 'inbound' && NEGATIVE.has(intent.intent)) {
    const score = Math.min(lexical.score, -0.5);
    return { sentiment: 'negative', score, raw: lexical.raw };
  }
  let raw = lexical.raw;
  if (direction === 'inbound' && intent.intent === 'purchase_intent') raw += 1.5;
  if (direction === 'outbound' && raw < 0) raw *= 0.25;
  return fromRaw(raw);
}

/**
 * high: the writer needs action within about two days, or something is broken for them now;
 * medium: a request of the reader, a question, or a deadline within a week; low: nothing needs
 * doing soon (declines, feedback, FYIs, auto-replies, "no rush").
 */
function urgencyOf(
  text: string,
  intent: IntentResult,
  dates: DatedMention[],
  actions: ActionItem[],
  email: EmailForExtraction,
): 'low' | 'medium' | 'high' {
  if (intent.intent === 'out_of_office') return 'low';
  const lower = text.toLowerCase();
  const today = localDay(email.sentAt, email.timezone);
  const reader = email.direction === 'inbound' ? 'us' : 'them';
  const readerActions = actions.filter((a) => a.owner === reader);
  const asked = readerActions.length > 0;
  const questioned = /\?/.test(lower);
  const dueSoon = readerActions.some((a) => a.due_date !== null && daysBetween(today, a.due_date) <= 1);
  const ahead = dates.map((d) => daysBetween(today, d.date)).filter((n) => n >= 0);
  const withinWeek = ahead.some((n) => n <= 7);
  if (RELAXED.test(lower)) return dueSoon ? 'medium' : 'low';
  if (liveMatch(lower, URGENT)) return 'high';
  if (
    email.direction === 'inbound' &&
    ['support_issue', 'complaint'].includes(intent.intent) &&
    liveMatch(lower, BROKEN)
  )
    return 'high';
  if (dueSoon) return 'high';
  // An ultimatum: "if it isn't resolved by tomorrow we will cancel".
  if (NEGATIVE.has(intent.intent) && ahead.some((n) => n <= 1)) return 'high';
  if (intent.intent === 'not_interested' || intent.intent === 'feedback') return 'low';
  if (email.direction === 'outbound') return asked || (questioned && withinWeek) ? 'medium' : 'low';
  if (asked || questioned) return 'medium';
  if (intent.intent === 'other' || intent.intent === 'meeting_request') return 'low';
  if (withinWeek || NEGATIVE.has(intent.intent)) return 'medium';
  return 'low';
}

/** A match of `re` that is not negated ("not urgent") and not about a finished past event. */
function liveMatch(text: string, re: RegExp): boolean {
  for (const m of text.matchAll(new RegExp(re.source, 'gi'))) {
    const i = m.index!;
    if (isNegatedAt(text, i, 2)) continue;
    const start = text.lastIndexOf('\n', i) + 1;
    const stop = text.indexOf('\n', i);
    const line = text.slice(start, stop === -1 ? undefined : stop);
    // "was down on Tuesday" is over; "has failed since Friday" or "failed again" is not.
    if (isPastClause(clauseAt(line, i - start), line) && !/\b(since|still|again)\b/.test(line)) continue;
    return true;
  }
  return false;
}

export function createHeuristicExtractor(): Extractor {
  return {
    kind: 'heuristic',
    model: HEURISTIC_MODEL,
    estimateMaxCostUsd: () => 0,
    async extract(email) {
      return {
        insight: extractHeuristic(email),
        extractor: 'heuristic',
        model: HEURISTIC_MODEL,
        usage: ZERO_USAGE,
        costUsd: 0,
      };
    },
  };
}
