/**
 * The counts campaign optimization works on, each one GROUP BY over a workspace's outbound mail
 * in [start, end). Every query filters on the workspace and joins contacts and campaigns on it
 * too, so a row of another workspace can never be counted. "Engaged" is opened, clicked or
 * replied before `end`.
 */
import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import type { VariantCounts } from './ab-results.ts';
import type { ContactFrequency } from './fatigue.ts';

export interface Window {
  start: Date;
  end: Date;
}

/** A contact's segment: its lead tier, or `unscored` (also for mail to no known contact). */
const SEGMENT = sql<string>`coalesce(c.lead_tier, 'unscored')`;

function engagedBefore(end: Date) {
  return sql<boolean>`(e.opened_at < ${end} OR e.clicked_at < ${end} OR e.replied_at < ${end})`;
}

export interface SegmentHourCell {
  segment: string;
  hour: number;
  sends: number;
  engaged: number;
}

/** Sends and engaged sends per segment and local hour of `timezone`. */
export async function sendTimeCounts(
  db: Kysely<Database>,
  workspaceId: string,
  timezone: string,
  w: Window,
): Promise<SegmentHourCell[]> {
  const { rows } = await sql<SegmentHourCell>`
    SELECT ${SEGMENT} AS segment,
           extract(hour FROM e.sent_at AT TIME ZONE ${timezone})::int AS hour,
           count(*)::int AS sends,
           count(*) FILTER (WHERE ${engagedBefore(w.end)})::int AS engaged
    FROM emails e
    LEFT JOIN contacts c ON c.id = e.contact_id AND c.workspace_id = e.workspace_id
    WHERE e.workspace_id = ${workspaceId} AND e.direction = 'outbound'
      AND e.sent_at >= ${w.start} AND e.sent_at < ${w.end}
    GROUP BY 1, 2
    ORDER BY 1, 2
  `.execute(db);
  return rows;
}

/** Per campaign and variant: sends, opens, clicks, replies and the commonest subject. */
export async function variantCounts(db: Kysely<Database>, workspaceId: string, w: Window): Promise<VariantCounts[]> {
  const { rows } = await sql<VariantCounts>`
    SELECT ec.id AS "campaignId", ec.name AS "campaignName", ec.tested, e.variant,
           mode() WITHIN GROUP (ORDER BY e.subject) AS subject,
           count(*)::int AS sends,
           count(*) FILTER (WHERE e.opened_at < ${w.end})::int AS opens,
           count(*) FILTER (WHERE e.clicked_at < ${w.end})::int AS clicks,
           count(*) FILTER (WHERE e.replied_at < ${w.end})::int AS replies
    FROM emails e
    JOIN email_campaigns ec ON ec.id = e.campaign_id AND ec.workspace_id = e.workspace_id
    WHERE e.workspace_id = ${workspaceId} AND e.direction = 'outbound' AND e.variant IS NOT NULL
      AND e.sent_at >= ${w.start} AND e.sent_at < ${w.end}
    GROUP BY ec.id, ec.name, ec.tested, e.variant
    ORDER BY ec.name, ec.id, e.variant
  `.execute(db);
  return rows;
}

/**
 * Contacts mailed at least `minRecentSends` times in [end − windowDays, end), with their sends
 * and engaged sends there and in the window before.
 */
export async function frequentContacts(
  db: Kysely<Database>,
  workspaceId: string,
  end: Date,
  windowDays: number,
  minRecentSends: number,
): Promise<ContactFrequency[]> {
  const { rows } = await sql<ContactFrequency>`
    WITH bounds AS (
      SELECT ${end}::timestamptz - make_interval(days => ${windowDays}) AS mid,
             ${end}::timestamptz - make_interval(days => ${2 * windowDays}) AS start
    )
    SELECT e.contact_id AS "contactId", ${SEGMENT} AS segment,
           count(*) FILTER (WHERE e.sent_at >= b.mid)::int AS "recentSends",
           count(*) FILTER (WHERE e.sent_at >= b.mid AND ${engagedBefore(end)})::int AS "recentEngaged",
           count(*) FILTER (WHERE e.sent_at < b.mid)::int AS "previousSends",
           count(*) FILTER (WHERE e.sent_at < b.mid AND ${engagedBefore(end)})::int AS "previousEngaged"
    FROM emails e
    CROSS JOIN bounds b
    JOIN contacts c ON c.id = e.contact_id AND c.workspace_id = e.workspace_id
    WHERE e.workspace_id = ${workspaceId} AND e.direction = 'outbound'
      AND e.sent_at >= b.start AND e.sent_at < ${end}
    GROUP BY e.contact_id, c.lead_tier
    HAVING count(*) FILTER (WHERE e.sent_at >= b.mid) >= ${minRecentSends}
    ORDER BY e.contact_id
  `.execute(db);
  return rows;
}
