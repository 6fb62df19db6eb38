/**
 * The set-based read behind lead scoring: one statement aggregates the emails and insights of a
 * whole chunk of contacts, instead of a round trip per contact.
 */
import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import type { ContactSignals } from './score-contact.ts';
import type { LeadScoringConfig } from './scoring-config.ts';

export interface ContactRow {
  id: string;
  lead_score: number | null;
  lead_tier: 'hot' | 'warm' | 'cold' | null;
  signals: ContactSignals;
}

interface SignalRow {
  id: string;
  job_title: string | null;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  phone: string | null;
  lead_score: number | null;
  lead_tier: 'hot' | 'warm' | 'cold' | null;
  last_interaction_at: Date | null;
  inbound: number;
  outbound: number;
  opens: number;
  clicks: number;
  replies: number;
  recent: number;
  insights: number;
  mean_sentiment: string | null;
  intents: string[] | null;
  negative_intent: string | null;
  negative_at: Date | null;
  commitment_intent: string | null;
  commitment_at: Date | null;
}

const DAY_MS = 86_400_000;

/**
 * Signals of the given contacts of a workspace as of `asOf`, locking their rows until the
 * caller's transaction ends (call it inside one). Emails and insights after `asOf`
 * are ignored, so a run is reproducible for a fixed `asOf`. Unknown ids are simply absent.
 */
export async function loadSignals(
  db: Kysely<Database>,
  workspaceId: string,
  contactIds: string[],
  config: LeadScoringConfig,
  asOf: Date,
): Promise<ContactRow[]> {
  const since = new Date(asOf.getTime() - config.lookbackDays * DAY_MS);
  const recentSince = new Date(asOf.getTime() - config.frequency.windowDays * DAY_MS);
  const earliest = since < recentSince ? since : recentSince;
  const negatives = Object.keys(config.negative.intents).map((i) => i.toLowerCase());
  const commitments = config.commitment.intents.map((i) => i.toLowerCase());
  const { rows } = await sql<SignalRow>`
    WITH c AS MATERIALIZED (
      -- Row locks in id order: a concurrent run of the same contacts waits here, then sees these
      -- scores as "previous", so history never records one change twice. Same order, no deadlock.
      SELECT id, job_title, first_name, last_name, company, phone, lead_score, lead_tier, last_interaction_at
        FROM contacts
       WHERE workspace_id = ${workspaceId} AND id = ANY(${contactIds}::uuid[])
       ORDER BY id
         FOR UPDATE
    ), e AS (
      SELECT contact_id,
             count(*) FILTER (WHERE sent_at >= ${since} AND direction = 'inbound')::int AS inbound,
             count(*) FILTER (WHERE sent_at >= ${since} AND direction = 'outbound')::int AS outbound,
             count(*) FILTER (WHERE sent_at >= ${since} AND direction = 'outbound' AND opened_at IS NOT NULL)::int AS opens,
             count(*) FILTER (WHERE sent_at >= ${since} AND direction = 'outbound' AND clicked_at IS NOT NULL)::int AS clicks,
             count(*) FILTER (WHERE sent_at >= ${since} AND direction = 'outbound' AND replied_at IS NOT NULL)::int AS replies,
             count(*) FILTER (WHERE sent_at >= ${recentSince})::int AS recent,
             max(greatest(sent_at,
                          CASE WHEN opened_at <= ${asOf} THEN opened_at END,
                          CASE WHEN clicked_at <= ${asOf} THEN clicked_at END,
                          CASE WHEN replied_at <= ${asOf} THEN replied_at END)) AS last_at
        FROM emails
       WHERE workspace_id = ${workspaceId}
         AND contact_id = ANY(${contactIds}::uuid[])
         AND sent_at >= ${earliest} AND sent_at <= ${asOf}
       GROUP BY contact_id
    ), insights AS (
      -- What the contact wrote: our own mail (kind 'outbound') says nothing about their interest.
      SELECT ei.contact_id, ei.intent, ei.intents, ei.sentiment, ei.sentiment_score, em.sent_at
        FROM email_insights ei
        JOIN emails em ON em.id = ei.email_id
       WHERE ei.workspace_id = ${workspaceId}
         AND ei.contact_id = ANY(${contactIds}::uuid[])
         AND ei.kind = 'inbound'
         AND em.sent_at >= ${since} AND em.sent_at <= ${asOf}
    ), lastneg AS (
      -- The contact's latest "no"; on the same email, the one listed first in the config.
      SELECT DISTINCT ON (contact_id) contact_id, lower(x) AS intent, sent_at
        FROM insights CROSS JOIN LATERAL unnest(array_prepend(intent, intents)) AS x
       WHERE lower(x) = ANY(${negatives}::text[])
       ORDER BY contact_id, sent_at DESC, array_position(${negatives}::text[], lower(x))
    ), lastbuy AS (
      -- The contact's latest commitment to buy, if it came after its latest "no".
      SELECT DISTINCT ON (s.contact_id) s.contact_id, lower(x) AS intent, s.sent_at
        FROM insights s
        LEFT JOIN lastneg n ON n.contact_id = s.contact_id
        CROSS JOIN LATERAL unnest(array_prepend(s.intent, s.intents)) AS x
       WHERE lower(x) = ANY(${commitments}::text[]) AND (n.sent_at IS NULL OR s.sent_at > n.sent_at)
       ORDER BY s.contact_id, s.sent_at DESC
    ), i AS (
      SELECT contact_id,
             count(*)::int AS insights,
             avg(coalesce(sentiment_score,
                          CASE sentiment WHEN 'positive' THEN 1 WHEN 'negative' THEN -1 ELSE 0 END)) AS mean_sentiment
        FROM insights
       GROUP BY contact_id
    ), it AS (
      -- Interest shown before the latest "no" is over; the "no" itself and what came after count.
      SELECT s.contact_id, array_agg(DISTINCT lower(x)) AS intents
        FROM insights s
        LEFT JOIN lastneg n ON n.contact_id = s.contact_id
        CROSS JOIN LATERAL unnest(array_prepend(s.intent, s.intents)) AS x
       WHERE x <> '' AND (n.sent_at IS NULL OR s.sent_at > n.sent_at OR lower(x) = n.intent)
       GROUP BY s.contact_id
    )
    SELECT c.id, c.job_title, c.first_name, c.last_name, c.company, c.phone, c.lead_score, c.lead_tier,
           CASE WHEN c.last_interaction_at <= ${asOf}
                THEN greatest(c.last_interaction_at, e.last_at) ELSE e.last_at END AS last_interaction_at,
           coalesce(e.inbound, 0) AS inbound, coalesce(e.outbound, 0) AS outbound,
           coalesce(e.opens, 0) AS opens, coalesce(e.clicks, 0) AS clicks, coalesce(e.replies, 0) AS replies,
           coalesce(e.recent, 0) AS recent,
           coalesce(i.insights, 0) AS insights, i.mean_sentiment, it.intents,
           n.intent AS negative_intent, n.sent_at AS negative_at,
           b.intent AS commitment_intent, b.sent_at AS commitment_at
      FROM c
      LEFT JOIN e ON e.contact_id = c.id
      LEFT JOIN i ON i.contact_id = c.id
      LEFT JOIN it ON it.contact_id = c.id
      LEFT JOIN lastneg n ON n.contact_id = c.id
      LEFT JOIN lastbuy b ON b.contact_id = c.id
     ORDER BY c.id
  `.execute(db);
  return rows.map((r) => ({
    id: r.id,
    lead_score: r.lead_score,
    lead_tier: r.lead_tier,
    signals: {
      jobTitle: r.job_title,
      profile: { firstName: r.first_name, lastName: r.last_name, company: r.company, phone: r.phone },
      inbound: r.inbound,
      outbound: r.outbound,
      opens: r.opens,
      clicks: r.clicks,
      replies: r.replies,
      recentEmails: r.recent,
      lastInteractionAt: r.last_interaction_at,
      insights: r.insights,
      meanSentiment: r.mean_sentiment === null ? null : Number(r.mean_sentiment),
      intents: r.intents ?? [],
      latestNegative:
        r.negative_intent !== null && r.negative_at !== null ? { intent: r.negative_intent, at: r.negative_at } : null,
      latestCommitment:
        r.commitment_intent !== null && r.commitment_at !== null
          ? { intent: r.commitment_intent, at: r.commitment_at }
          : null,
    },
  }));
}
