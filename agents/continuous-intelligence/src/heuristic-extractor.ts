/**
 * The offline extractor: rules and lexicons, deterministic, free. Used when no API key is set and
 * when a workspace has spent its monthly AI budget.
 */
import { extractActionItems } from './heuristic/action-items.ts';
import { extractDates } from './heuristic/dates.ts';
import { extractCompanies, extractPeople } from './heuristic/entities.ts';
import { classifyIntent, type IntentResult } from './heuristic/intent.ts';
import { scoreSentiment } from './heuristic/sentiment.ts';
import { daysBetween, localDay, splitBody } from './heuristic/text.ts';
import type { ActionItem, EmailForExtraction, Extractor, Insight, MentionedDate } from './insight.ts';
import { ZERO_USAGE } from './insight.ts';

/** Version of the rule set, stored as email_insights.model so re-runs can be told apart. */
export const HEURISTIC_MODEL = 'heuristic-v1';

/** Mailing-list footers mention "unsubscribe" without the writer asking for it. */
const FOOTER =
  /(click|tap) here to unsubscribe|to unsubscribe|unsubscribe (here|link|from this list)|manage (your )?(email |subscription )?preferences|you('re| are) receiving this/i;

const URGENT =
  /\b(urgent(ly)?|asap|a\.s\.a\.p|immediately|right away|critical|emergency|as soon as possible|time[- ]sensitive|blocker|blocking|production is down|site is down|outage|end of (the )?day|close of business|eod|cob)\b/i;
const SOON =
  /\b(soon|this week|by (monday|tuesday|wednesday|thursday|friday)|deadline|at your earliest convenience|priority|quickly|promptly)\b/i;
const PRESSING_INTENTS = new Set(['support_issue', 'complaint', 'cancellation', 'purchase_intent', 'unsubscribe']);

export function extractHeuristic(email: EmailForExtraction): Insight {
  const { main, signature } = splitBody(email.bodyText, email.snippet);
  const body = main
    .split('\n')
    .filter((l) => !FOOTER.test(l))
    .join('\n');
  const subject = email.subject ?? '';
  const intent = classifyIntent(subject, body);
  const sentiment = scoreSentiment(`${subject}\n${body}`);
  const mentionedDates = extractDates(`${subject}\n${body}`, email.sentAt, email.timezone);
  const actionItems =
    intent.intent === 'out_of_office' ? [] : extractActionItems(body, email.direction, email.sentAt, email.timezone);
  const entityInput = { ...email, main: body, signature };
  return {
    intent: intent.intent,
    intents: intent.intents,
    sentiment: sentiment.sentiment,
    sentiment_score: sentiment.score,
    urgency: urgencyOf(`${subject}\n${body}`, intent, mentionedDates, actionItems, email),
    action_items: actionItems,
    mentioned_dates: mentionedDates,
    people: extractPeople(entityInput),
    companies: extractCompanies(entityInput),
  };
}

function urgencyOf(
  text: string,
  intent: IntentResult,
  dates: MentionedDate[],
  actions: ActionItem[],
  email: EmailForExtraction,
): 'low' | 'medium' | 'high' {
  if (intent.intent === 'out_of_office') return 'low';
  const today = localDay(email.sentAt, email.timezone);
  const dueIn = [...dates.map((d) => d.date), ...actions.flatMap((a) => (a.due_date ? [a.due_date] : []))]
    .map((d) => daysBetween(today, d))
    .filter((n) => n >= 0);
  const soonest = dueIn.length > 0 ? Math.min(...dueIn) : Number.POSITIVE_INFINITY;
  if (URGENT.test(text)) return 'high';
  // A deadline today or tomorrow on something we must do.
  if (soonest <= 1 && (actions.some((a) => a.owner === 'us') || PRESSING_INTENTS.has(intent.intent))) return 'high';
  if (SOON.test(text) || soonest <= 7 || PRESSING_INTENTS.has(intent.intent)) return 'medium';
  return 'low';
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
