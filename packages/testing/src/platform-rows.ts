/**
 * Rows of the platform tables for agents' tests: each test builds exactly the rows it reasons
 * about, with defaults for every column it does not care about.
 */
import { randomUUID } from 'node:crypto';
import type { Database, JsonObject } from '@fleet/db';
import type { Insertable, Kysely } from 'kysely';

export async function createWorkspace(
  db: Kysely<Database>,
  opts: { timezone?: string; settings?: JsonObject } = {},
): Promise<string> {
  const org = await db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  const ws = await db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'Workspace', timezone: opts.timezone ?? 'UTC', settings: opts.settings ?? {} })
    .returning('id')
    .executeTakeFirstOrThrow();
  return ws.id;
}

export async function insertContact(
  db: Kysely<Database>,
  workspaceId: string,
  values: Partial<Insertable<Database['contacts']>> = {},
): Promise<string> {
  const row = await db
    .insertInto('contacts')
    .values({ workspace_id: workspaceId, email: `${randomUUID()}@example.org`, ...values })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertEmail(
  db: Kysely<Database>,
  workspaceId: string,
  values: Partial<Insertable<Database['emails']>> & { direction: 'inbound' | 'outbound'; sent_at: Date },
): Promise<string> {
  const row = await db
    .insertInto('emails')
    .values({
      workspace_id: workspaceId,
      provider_message_id: randomUUID(),
      from_address: 'someone@example.org',
      ...values,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertInsight(
  db: Kysely<Database>,
  workspaceId: string,
  values: Partial<Insertable<Database['email_insights']>> & { email_id: string },
): Promise<string> {
  const row = await db
    .insertInto('email_insights')
    .values({
      workspace_id: workspaceId,
      intent: 'question',
      sentiment: 'neutral',
      urgency: 'low',
      extractor: 'test',
      ...values,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export const DAY = 86_400_000;
export function daysBefore(date: Date, days: number): Date {
  return new Date(date.getTime() - days * DAY);
}
