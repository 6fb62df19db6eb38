/**
 * The social_posts and social_accounts statements of publishing. Every one names the workspace,
 * so a post or account of another workspace is never read or changed.
 */
import type { Database } from '@fleet/db';
import { type Kysely, type Selectable, sql } from 'kysely';

export type SocialPost = Selectable<Database['social_posts']>;
export type SocialAccount = Selectable<Database['social_accounts']>;

/**
 * Takes the post for one attempt: a scheduled post, or one an earlier attempt left in
 * `publishing`, whose lease is free. Undefined when it is published, rejected, cancelled, not
 * due, held by another worker, or not this workspace's, and when it was made from a content
 * calendar item cancelled or deleted since and no create was sent for it yet (a run cancels such
 * posts first; this covers an item cancelled during a run, and a job naming the post).
 */
export async function claimPost(
  db: Kysely<Database>,
  workspaceId: string,
  postId: string,
  now: Date,
  leaseMs: number,
): Promise<SocialPost | undefined> {
  return db
    .updateTable('social_posts')
    .set({
      status: 'publishing',
      publish_attempts: sql`publish_attempts + 1`,
      claimed_until: new Date(now.getTime() + leaseMs),
      updated_at: now,
    })
    .where('id', '=', postId)
    .where('workspace_id', '=', workspaceId)
    .where('status', 'in', ['scheduled', 'publishing'])
    .where('scheduled_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .where((eb) =>
      eb.or([
        eb('create_sent_at', 'is not', null),
        eb.not(
          eb.exists(
            eb
              .selectFrom('content_calendar_items as i')
              .select(sql.lit(1).as('one'))
              .whereRef('i.id', '=', 'social_posts.calendar_item_id')
              .where('i.workspace_id', '=', workspaceId)
              .where((w) => w.or([w('i.status', '=', 'cancelled'), w('i.deleted_at', 'is not', null)])),
          ),
        ),
      ]),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Ids of the workspace's posts due by `now` and free to claim, oldest first. */
export async function duePostIds(
  db: Kysely<Database>,
  workspaceId: string,
  now: Date,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('social_posts')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('status', 'in', ['scheduled', 'publishing'])
    .where('scheduled_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .orderBy('scheduled_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export async function loadAccount(
  db: Kysely<Database>,
  workspaceId: string,
  accountId: string,
): Promise<SocialAccount | undefined> {
  return db
    .selectFrom('social_accounts')
    .selectAll()
    .where('id', '=', accountId)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
}

/**
 * Records, before the create request is sent, that it is about to be: from the moment this is
 * committed, an attempt may have created the post, and the next one looks for it first.
 */
export async function markCreateSent(db: Kysely<Database>, post: SocialPost, at: Date): Promise<Date> {
  const row = await db
    .updateTable('social_posts')
    .set({ create_sent_at: sql`coalesce(create_sent_at, ${at})`, updated_at: at })
    .where('id', '=', post.id)
    .where('workspace_id', '=', post.workspace_id)
    .returning('create_sent_at')
    .executeTakeFirstOrThrow();
  return row.create_sent_at!;
}

/** Stores the platform's id and ends the attempt; committed before the job is acknowledged. */
export async function markPublished(
  db: Kysely<Database>,
  post: SocialPost,
  published: { postId: string; url: string | null },
  at: Date,
): Promise<void> {
  await db
    .updateTable('social_posts')
    .set({
      status: 'published',
      platform_post_id: published.postId,
      platform_post_url: published.url,
      published_at: at,
      claimed_until: null,
      last_error: null,
      updated_at: at,
    })
    .where('id', '=', post.id)
    .where('workspace_id', '=', post.workspace_id)
    .execute();
}

/** The platform's rules or the platform itself refused the post: it is never tried again. */
export async function markRejected(db: Kysely<Database>, post: SocialPost, reason: string, at: Date): Promise<void> {
  await db
    .updateTable('social_posts')
    .set({ status: 'rejected', last_error: reason, claimed_until: null, updated_at: at })
    .where('id', '=', post.id)
    .where('workspace_id', '=', post.workspace_id)
    .execute();
}

/** Frees the lease after a failed attempt, keeping `publishing`: the next attempt continues. */
export async function releasePost(db: Kysely<Database>, post: SocialPost, error: string, at: Date): Promise<void> {
  await db
    .updateTable('social_posts')
    .set({ claimed_until: null, last_error: error, updated_at: at })
    .where('id', '=', post.id)
    .where('workspace_id', '=', post.workspace_id)
    .execute();
}
