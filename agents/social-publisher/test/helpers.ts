import { randomBytes } from 'node:crypto';
import { encryptToken } from '@fleet/agent-email-integration/token-crypto';
import type { Database, SocialPostMedia } from '@fleet/db';
import type { Kysely } from 'kysely';

export const KEY = randomBytes(32);

export async function insertAccount(
  db: Kysely<Database>,
  workspaceId: string,
  values: { platform: 'mastodon' | 'x'; baseUrl: string; token: string; platformUserId?: string },
): Promise<string> {
  const row = await db
    .insertInto('social_accounts')
    .values({
      workspace_id: workspaceId,
      platform: values.platform,
      base_url: values.baseUrl,
      handle: 'brand',
      platform_user_id: values.platformUserId ?? null,
      access_token_encrypted: encryptToken(KEY, values.token),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertPost(
  db: Kysely<Database>,
  workspaceId: string,
  accountId: string,
  values: { text: string; media?: SocialPostMedia[]; scheduledAt?: Date; calendarItemId?: string },
): Promise<string> {
  const row = await db
    .insertInto('social_posts')
    .values({
      workspace_id: workspaceId,
      account_id: accountId,
      text: values.text,
      media: JSON.stringify(values.media ?? []),
      scheduled_at: values.scheduledAt ?? new Date(Date.now() - 60_000),
      calendar_item_id: values.calendarItemId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function postRow(db: Kysely<Database>, id: string) {
  return db.selectFrom('social_posts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** A content calendar entry, a post unless told otherwise, scheduled and due a minute ago unless told otherwise. */
export async function insertCalendarPost(
  db: Kysely<Database>,
  workspaceId: string,
  values: {
    title: string;
    body?: string | null;
    startsAt?: Date;
    status?: 'draft' | 'scheduled' | 'published' | 'failed' | 'cancelled';
    rrule?: string;
    kind?: 'post' | 'campaign' | 'email_send';
    accounts?: string[];
  },
): Promise<string> {
  const row = await db
    .insertInto('content_calendar_items')
    .values({
      workspace_id: workspaceId,
      kind: values.kind ?? 'post',
      title: values.title,
      body: values.body ?? null,
      starts_at: values.startsAt ?? new Date(Date.now() - 60_000),
      status: values.status ?? 'scheduled',
      rrule: values.rrule ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const account of values.accounts ?? []) {
    await db
      .insertInto('content_calendar_item_accounts')
      .values({ workspace_id: workspaceId, item_id: row.id, account_id: account })
      .execute();
  }
  return row.id;
}

export async function postsOfItem(db: Kysely<Database>, itemId: string) {
  return db.selectFrom('social_posts').selectAll().where('calendar_item_id', '=', itemId).orderBy('id').execute();
}

export async function itemStatus(db: Kysely<Database>, itemId: string): Promise<string> {
  const row = await db
    .selectFrom('content_calendar_items')
    .select('status')
    .where('id', '=', itemId)
    .executeTakeFirstOrThrow();
  return row.status;
}
