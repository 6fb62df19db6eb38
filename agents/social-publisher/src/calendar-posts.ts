/**
 * Content calendar posts (content_calendar_items, kind 'post') become social_posts: one per
 * target account (content_calendar_item_accounts) once the item is due. Every statement names the
 * workspace on every table it reads, so another workspace's item, link or account is never used.
 *
 * Only an item's first occurrence (its starts_at) is published; the occurrences an rrule adds
 * later are not materialised.
 */
import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';

/** What the calendar steps of one run did, reported as output_data.from_calendar. */
export interface FromCalendar {
  /** social_posts rows created for due calendar posts. */
  created: number;
  /** Unsent posts cancelled because their item was cancelled or deleted. */
  cancelled: number;
  /** Items marked published (all their posts published) or failed (some rejected). */
  items_published: number;
  items_failed: number;
}

/**
 * Creates the social post of each due, scheduled calendar post and target account, in one
 * statement. The text is the item's body, or its title when it has none; the post is scheduled at
 * the item's start. The unique index on (calendar_item_id, account_id) makes a second run (or a
 * concurrent one) create nothing, also for a post since published, rejected or cancelled.
 */
export async function materialiseCalendarPosts(db: Kysely<Database>, workspaceId: string, now: Date): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    INSERT INTO social_posts (workspace_id, account_id, calendar_item_id, text, scheduled_at)
    SELECT i.workspace_id, a.id, i.id, coalesce(nullif(btrim(i.body), ''), i.title), i.starts_at
    FROM content_calendar_items i
    JOIN content_calendar_item_accounts t ON t.item_id = i.id AND t.workspace_id = ${workspaceId}
    JOIN social_accounts a ON a.id = t.account_id AND a.workspace_id = ${workspaceId}
    WHERE i.workspace_id = ${workspaceId}
      AND i.kind = 'post'
      AND i.status = 'scheduled'
      AND i.deleted_at IS NULL
      AND i.starts_at <= ${now}
    ORDER BY i.starts_at, i.id, a.id
    ON CONFLICT (calendar_item_id, account_id) WHERE calendar_item_id IS NOT NULL DO NOTHING
    RETURNING id`.execute(db);
  return rows.length;
}

/**
 * Cancels the posts of items cancelled or (soft-)deleted that nothing has been sent for: no create
 * request ever sent, and not held by an attempt — `scheduled`, or `publishing` left by an attempt
 * that failed before creating (an image download that timed out). A post an attempt holds or may
 * have created is left to finish, as the platform may have it already.
 */
export async function cancelCalendarPosts(db: Kysely<Database>, workspaceId: string, now: Date): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    UPDATE social_posts p
    SET status = 'cancelled',
        last_error = CASE WHEN i.deleted_at IS NOT NULL THEN 'its content calendar item was deleted'
                          ELSE 'its content calendar item was cancelled' END,
        updated_at = ${now}
    FROM content_calendar_items i
    WHERE p.workspace_id = ${workspaceId}
      AND i.workspace_id = ${workspaceId}
      AND i.id = p.calendar_item_id
      AND (i.status = 'cancelled' OR i.deleted_at IS NOT NULL)
      AND p.status IN ('scheduled', 'publishing')
      AND p.create_sent_at IS NULL
      AND (p.claimed_until IS NULL OR p.claimed_until < ${now})
    RETURNING p.id`.execute(db);
  return rows.length;
}

/**
 * Ends scheduled calendar posts whose social posts are all finished: `published` when none was
 * rejected, `failed` when one was (its reason is on the social post). Posts cancelled one by one
 * do not count; an item with only cancelled posts stays as it is. The change moves the item's
 * updated_at, so the next CalDAV sync writes the status to the calendar.
 */
export async function settleCalendarItems(
  db: Kysely<Database>,
  workspaceId: string,
): Promise<{ published: number; failed: number }> {
  const { rows } = await sql<{ status: 'published' | 'failed' }>`
    UPDATE content_calendar_items i
    SET status = CASE WHEN s.rejected THEN 'failed' ELSE 'published' END
    FROM (
      SELECT p.calendar_item_id,
             bool_or(p.status = 'rejected') AS rejected,
             bool_or(p.status = 'published') AS published,
             bool_or(p.status IN ('draft', 'scheduled', 'publishing')) AS open
      FROM social_posts p
      JOIN content_calendar_items c ON c.id = p.calendar_item_id
      WHERE p.workspace_id = ${workspaceId}
        AND c.workspace_id = ${workspaceId}
        AND c.kind = 'post'
        AND c.status = 'scheduled'
        AND c.deleted_at IS NULL
      GROUP BY p.calendar_item_id
    ) s
    WHERE i.id = s.calendar_item_id
      AND i.workspace_id = ${workspaceId}
      AND i.status = 'scheduled'
      AND i.deleted_at IS NULL
      AND NOT s.open
      AND (s.published OR s.rejected)
    RETURNING i.status`.execute(db);
  return {
    published: rows.filter((r) => r.status === 'published').length,
    failed: rows.filter((r) => r.status === 'failed').length,
  };
}
