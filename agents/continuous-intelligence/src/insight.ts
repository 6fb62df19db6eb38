/**
 * What the agent extracts from one email, whichever extractor produced it. The same zod schema
 * validates the LLM's structured output and types the heuristic extractor's result.
 */
import { z } from 'zod';

/** Intents an email can carry; `intent` is the main one, `intents` every one that applies. */
export const INTENTS = [
  'meeting_request',
  'pricing_inquiry',
  'demo_request',
  'purchase_intent',
  'support_issue',
  'complaint',
  'cancellation',
  'unsubscribe',
  'not_interested',
  'billing',
  'follow_up',
  'introduction',
  'partnership',
  'feedback',
  'out_of_office',
  'information_request',
  'other',
] as const;
export type Intent = (typeof INTENTS)[number];

/** Intents of a contact who says no, wants out, or is unhappy. */
export const NEGATIVE_INTENTS = [
  'not_interested',
  'unsubscribe',
  'cancellation',
  'complaint',
] as const satisfies readonly Intent[];
/** Intents lead scoring counts as buying interest. */
export const BUYING_INTENTS = [
  'pricing_inquiry',
  'demo_request',
  'purchase_intent',
  'meeting_request',
] as const satisfies readonly Intent[];

/**
 * Whose words an insight reads: what a contact wrote to us, or our own mail to them. Stored as
 * email_insights.kind, which the database copies from the email's direction (migration 120).
 */
export type InsightKind = 'inbound' | 'outbound';

export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export const URGENCIES = ['low', 'medium', 'high'] as const;

const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

export const actionItemSchema = z.object({
  description: z.string().min(1).max(500),
  /** Who has to act: `us` (the workspace), `them` (the contact) or unknown. */
  owner: z.enum(['us', 'them', 'unknown']),
  due_date: isoDay.nullable(),
});

export const mentionedDateSchema = z.object({
  /** The words in the email, e.g. "next Tuesday at 3pm". */
  text: z.string().min(1).max(200),
  date: isoDay,
  /** 'HH:MM' when the email names a time of day. */
  time: z
    .string()
    .regex(/^\d{2}:\d{2}$/, 'must be HH:MM')
    .nullable(),
});

export const personSchema = z.object({
  name: z.string().min(1).max(200),
  email: z.string().max(320).nullable(),
  role: z.string().max(200).nullable(),
});

export const companySchema = z.object({
  name: z.string().min(1).max(200),
  domain: z.string().max(253).nullable(),
});

export const insightSchema = z.object({
  intent: z.enum(INTENTS),
  intents: z.array(z.enum(INTENTS)).max(INTENTS.length),
  sentiment: z.enum(SENTIMENTS),
  /** -1 (very negative) .. 1 (very positive). */
  sentiment_score: z.number().min(-1).max(1),
  urgency: z.enum(URGENCIES),
  action_items: z.array(actionItemSchema).max(20),
  mentioned_dates: z.array(mentionedDateSchema).max(20),
  people: z.array(personSchema).max(30),
  companies: z.array(companySchema).max(30),
});
export type Insight = z.infer<typeof insightSchema>;
export type ActionItem = z.infer<typeof actionItemSchema>;
export type MentionedDate = z.infer<typeof mentionedDateSchema>;
export type Person = z.infer<typeof personSchema>;
export type Company = z.infer<typeof companySchema>;

/** The email as extractors see it. */
export interface EmailForExtraction {
  id: string;
  direction: 'inbound' | 'outbound';
  fromAddress: string;
  fromName: string | null;
  toAddresses: string[];
  subject: string | null;
  bodyText: string | null;
  snippet: string | null;
  sentAt: Date;
  /** IANA zone of the workspace: relative dates ("tomorrow") are read in it. */
  timezone: string;
}

/** Tokens a provider reported for one call. */
export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export const ZERO_USAGE: TokenUsage = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
}

/** One extraction: the insight plus what it cost. */
export interface Extraction {
  insight: Insight;
  extractor: 'anthropic' | 'heuristic';
  model: string | null;
  usage: TokenUsage;
  costUsd: number;
}

/** An extractor turns one email into an insight. */
export interface Extractor {
  readonly kind: 'anthropic' | 'heuristic';
  /** Model id for LLM extractors; the rule set's version for the heuristic one. */
  readonly model: string;
  extract(email: EmailForExtraction, signal: AbortSignal): Promise<Extraction>;
  /**
   * Upper bound of what extracting this email may cost, used by the budget guard before the
   * call is made (0 for the heuristic).
   */
  estimateMaxCostUsd(email: EmailForExtraction): number;
}
