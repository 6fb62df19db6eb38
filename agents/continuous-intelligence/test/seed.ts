/** Rows the tests start from: an organization, workspaces, contacts and emails. */
import type { Database, JsonObject } from '@fleet/db';
import type { Kysely } from 'kysely';

export async function seedWorkspace(
  db: Kysely<Database>,
  opts: { name?: string; timezone?: string; settings?: JsonObject; active?: boolean } = {},
): Promise<string> {
  const org = await db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  const ws = await db
    .insertInto('workspaces')
    .values({
      org_id: org.id,
      name: opts.name ?? 'WS',
      timezone: opts.timezone ?? 'America/New_York',
      settings: JSON.stringify(opts.settings ?? {}),
      is_active: opts.active ?? true,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return ws.id;
}

export async function seedContact(db: Kysely<Database>, workspaceId: string, email: string): Promise<string> {
  const row = await db
    .insertInto('contacts')
    .values({ workspace_id: workspaceId, email })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

let seq = 0;

export async function seedEmail(
  db: Kysely<Database>,
  workspaceId: string,
  e: {
    from: string;
    subject: string;
    body: string;
    contactId?: string | null;
    sentAt?: Date;
    direction?: 'inbound' | 'outbound';
  },
): Promise<string> {
  seq++;
  const row = await db
    .insertInto('emails')
    .values({
      workspace_id: workspaceId,
      contact_id: e.contactId ?? null,
      provider_message_id: `msg-${seq}-${Math.random().toString(36).slice(2)}`,
      direction: e.direction ?? 'inbound',
      from_address: e.from,
      to_addresses: ['tom@ourco.com'],
      subject: e.subject,
      body_text: e.body,
      sent_at: e.sentAt ?? new Date(Date.UTC(2026, 2, 10, 15, 0, seq)),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Five emails of the same length, so LLM cost estimates are equal. */
export const SAMPLE_EMAILS = [
  {
    from: 'sarah.chen@acme-robotics.com',
    subject: 'Call next week',
    body: 'Would you be free for a call next Tuesday at 2pm?',
  },
  {
    from: 'j.doe@gmail.com',
    subject: 'Pricing inquiry',
    body: 'How much does the Pro plan cost per seat for 50 users?',
  },
  {
    from: 'ops@globex.io',
    subject: 'Exports broken',
    body: 'Our CSV exports stopped working this morning, please fix.',
  },
  {
    from: 'mark@initech.com',
    subject: 'Unsubscribe me',
    body: 'Please unsubscribe me, I no longer wish to receive these.',
  },
  {
    from: 'kate@vandelay.com',
    subject: 'Following up',
    body: 'Just following up on the proposal; any update this week?',
  },
];
