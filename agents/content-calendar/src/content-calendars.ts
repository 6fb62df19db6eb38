/**
 * CalDAV connections of a workspace (content_calendars): added with the password encrypted at
 * rest (AES-256-GCM, MAIL_TOKEN_ENCRYPTION_KEY, as mail credentials are), read back only within
 * the workspace that owns them.
 */
import { encryptToken } from '@fleet/agent-email-integration/token-crypto';
import type { ContentCalendar, Database } from '@fleet/db';
import type { Kysely } from 'kysely';

export interface NewContentCalendar {
  workspaceId: string;
  /** The calendar collection's URL. */
  url: string;
  username?: string | null;
  /** Password or app token; stored only encrypted. */
  password?: string | null;
  displayName?: string | null;
}

/** Adds a connection (or replaces the credentials of the workspace's connection to that URL). */
export async function addContentCalendar(
  db: Kysely<Database>,
  encryptionKey: Buffer,
  calendar: NewContentCalendar,
): Promise<ContentCalendar> {
  const url = new URL(calendar.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('url: must be an http(s) URL');
  if (url.username || url.password) throw new Error('url: must not carry credentials; pass username and password');
  const values = {
    workspace_id: calendar.workspaceId,
    url: url.toString(),
    username: calendar.username ?? null,
    password_encrypted: calendar.password ? encryptToken(encryptionKey, calendar.password) : null,
    display_name: calendar.displayName ?? null,
  };
  return db
    .insertInto('content_calendars')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['workspace_id', 'url']).doUpdateSet({
        username: values.username,
        password_encrypted: values.password_encrypted,
        display_name: values.display_name,
        sync_token: null,
        ctag: null,
        is_active: true,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The workspace's connection `id`, or undefined: another workspace's id finds nothing. */
export function findContentCalendar(
  db: Kysely<Database>,
  workspaceId: string,
  id: string,
): Promise<ContentCalendar | undefined> {
  return db
    .selectFrom('content_calendars')
    .selectAll()
    .where('id', '=', id)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
}
