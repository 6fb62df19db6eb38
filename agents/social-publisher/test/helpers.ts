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
