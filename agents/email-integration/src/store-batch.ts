/**
 * Writes one page of synced messages in one transaction: contacts, threads, emails (deduplicated
 * by provider message id), thread counters, reply links, and, with the last page, the account's
 * new cursor. A crash before commit leaves nothing half-written; a re-run inserts nothing twice.
 */
import type { Database } from '@fleet/db';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ParsedEmail } from './provider.ts';

export interface BatchAccount {
  workspaceId: string;
  accountId: string;
  /** Lower-cased address of the mailbox: mail from it is outbound. */
  emailAddress: string;
}

export interface CursorUpdate {
  /** The cursor the sync started from; the update is skipped if another sync moved it. */
  previous: string | null;
  next: string;
}

export interface BatchOutcome {
  /** Emails inserted now (already stored ones are not counted). */
  inserted: number;
  newContacts: number;
  /** false when another sync had already moved the cursor. */
  cursorSaved: boolean;
}

const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Outbound when the mailbox itself sent it (From is the account, or Gmail filed it as SENT). */
export function directionOf(email: ParsedEmail, accountAddress: string): 'inbound' | 'outbound' {
  return email.from?.address === accountAddress || email.labels.includes('SENT') ? 'outbound' : 'inbound';
}

/** The other party of a message: the sender of inbound mail, the first recipient of outbound. */
function counterpart(email: ParsedEmail, accountAddress: string): string | null {
  if (directionOf(email, accountAddress) === 'inbound') return email.from?.address ?? null;
  const other = [...email.to, ...email.cc].find((a) => a.address !== accountAddress);
  return other?.address ?? null;
}

interface Party {
  email: string;
  name: string | null;
  lastSeen: Date;
}

/** Every address on the batch's messages except the mailbox's own, with its latest sighting. */
function partiesOf(emails: ParsedEmail[], accountAddress: string): Party[] {
  const parties = new Map<string, Party>();
  for (const e of emails) {
    for (const a of [...(e.from ? [e.from] : []), ...e.to, ...e.cc]) {
      if (a.address === accountAddress) continue;
      const known = parties.get(a.address);
      if (!known) parties.set(a.address, { email: a.address, name: a.name, lastSeen: e.sentAt });
      else {
        known.name ??= a.name;
        if (e.sentAt > known.lastSeen) known.lastSeen = e.sentAt;
      }
    }
  }
  return [...parties.values()];
}

async function upsertContacts(trx: Transaction<Database>, workspaceId: string, parties: Party[]) {
  const ids = new Map<string, string>();
  let created = 0;
  for (const part of chunks(parties)) {
    const emails = part.map((p) => p.email);
    const names = part.map((p) => p.name);
    const seen = part.map((p) => p.lastSeen.toISOString());
    const inserted = await sql<{ id: string }>`
      INSERT INTO contacts (workspace_id, email, display_name, source, last_interaction_at)
      SELECT ${workspaceId}::uuid, u.email, u.name, 'email_sync', u.seen
      FROM unnest(${emails}::text[], ${names}::text[], ${seen}::timestamptz[]) AS u(email, name, seen)
      ON CONFLICT (workspace_id, lower(email)) DO NOTHING
      RETURNING id`.execute(trx);
    created += inserted.rows.length;
    // Existing contacts keep what they have, except a later interaction and a missing name.
    const all = await sql<{ id: string; key: string }>`
      UPDATE contacts c
      SET last_interaction_at = GREATEST(c.last_interaction_at, u.seen),
          display_name = COALESCE(c.display_name, u.name)
      FROM unnest(${emails}::text[], ${names}::text[], ${seen}::timestamptz[]) AS u(email, name, seen)
      WHERE c.workspace_id = ${workspaceId}::uuid AND lower(c.email) = u.email
      RETURNING c.id, lower(c.email) AS key`.execute(trx);
    for (const row of all.rows) ids.set(row.key, row.id);
  }
  return { ids, created };
}

async function upsertThreads(trx: Transaction<Database>, account: BatchAccount, emails: ParsedEmail[]) {
  const first = new Map<string, ParsedEmail>();
  for (const e of emails) {
    const known = first.get(e.providerThreadId);
    if (!known || e.sentAt < known.sentAt) first.set(e.providerThreadId, e);
  }
  const ids = new Map<string, string>();
  for (const part of chunks([...first.values()])) {
    const rows = await trx
      .insertInto('email_threads')
      .values(
        part.map((e) => ({
          workspace_id: account.workspaceId,
          account_id: account.accountId,
          provider_thread_id: e.providerThreadId,
          subject: e.subject,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['workspace_id', 'provider_thread_id']).doUpdateSet({
          subject: sql<string | null>`COALESCE(email_threads.subject, excluded.subject)`,
        }),
      )
      .returning(['id', 'provider_thread_id'])
      .execute();
    for (const row of rows) ids.set(row.provider_thread_id, row.id);
  }
  return ids;
}

/**
 * Marks messages answered by the other side: a message gets replied_at = the earliest reply in
 * the opposite direction whose In-Reply-To names it. Looks both ways, since a reply may be
 * stored before the message it answers.
 */
async function linkReplies(trx: Transaction<Database>, workspaceId: string, insertedIds: string[]) {
  if (insertedIds.length === 0) return;
  await sql`
    UPDATE emails a SET replied_at = r.first_reply
    FROM (
      SELECT p.id, min(c.sent_at) AS first_reply
      FROM emails p
      JOIN emails c ON c.workspace_id = p.workspace_id
        AND c.in_reply_to = p.rfc_message_id
        AND c.direction <> p.direction
        AND c.sent_at >= p.sent_at
      WHERE p.workspace_id = ${workspaceId}::uuid
        AND (p.id = ANY(${insertedIds}::uuid[]) OR c.id = ANY(${insertedIds}::uuid[]))
      GROUP BY p.id
    ) r
    WHERE a.id = r.id AND (a.replied_at IS NULL OR a.replied_at > r.first_reply)`.execute(trx);
}

/** Stores one batch (and the cursor, when given) in one transaction. */
export async function storeBatch(
  db: Kysely<Database>,
  account: BatchAccount,
  emails: ParsedEmail[],
  cursor?: CursorUpdate,
): Promise<BatchOutcome> {
  return db.transaction().execute(async (trx) => {
    let inserted = 0;
    let newContacts = 0;
    if (emails.length > 0) {
      const contacts = await upsertContacts(trx, account.workspaceId, partiesOf(emails, account.emailAddress));
      newContacts = contacts.created;
      const threads = await upsertThreads(trx, account, emails);
      const insertedIds: string[] = [];
      for (const part of chunks(emails)) {
        const rows = await trx
          .insertInto('emails')
          .values(
            part.map((e) => {
              const other = counterpart(e, account.emailAddress);
              return {
                workspace_id: account.workspaceId,
                account_id: account.accountId,
                thread_id: threads.get(e.providerThreadId) ?? null,
                contact_id: other ? (contacts.ids.get(other) ?? null) : null,
                provider_message_id: e.providerMessageId,
                rfc_message_id: e.rfcMessageId,
                direction: directionOf(e, account.emailAddress),
                from_address: e.from?.address ?? null,
                from_name: e.from?.name ?? null,
                to_addresses: e.to.map((a) => a.address),
                cc_addresses: e.cc.map((a) => a.address),
                subject: e.subject,
                snippet: e.snippet,
                body_text: e.bodyText,
                labels: e.labels,
                sent_at: e.sentAt,
                in_reply_to: e.inReplyTo,
              };
            }),
          )
          .onConflict((oc) => oc.columns(['workspace_id', 'provider_message_id']).doNothing())
          .returning('id')
          .execute();
        for (const row of rows) insertedIds.push(row.id);
      }
      inserted = insertedIds.length;
      const threadIds = [...new Set(threads.values())];
      if (threadIds.length > 0) {
        // Pages arrive newest first, so the subject comes from the thread's earliest message
        // rather than from whichever message was stored first.
        await sql`
          UPDATE email_threads t
          SET message_count = s.n, last_message_at = s.last, subject = COALESCE(f.subject, t.subject)
          FROM (
            SELECT thread_id, count(*)::int AS n, max(sent_at) AS last
            FROM emails WHERE thread_id = ANY(${threadIds}::uuid[]) GROUP BY thread_id
          ) s
          LEFT JOIN LATERAL (
            SELECT e.subject FROM emails e
            WHERE e.thread_id = s.thread_id AND e.subject IS NOT NULL
            ORDER BY e.sent_at LIMIT 1
          ) f ON true
          WHERE t.id = s.thread_id`.execute(trx);
      }
      await linkReplies(trx, account.workspaceId, insertedIds);
    }
    let cursorSaved = false;
    if (cursor) {
      const result = await trx
        .updateTable('mail_accounts')
        .set({ history_id: cursor.next, last_synced_at: new Date() })
        .where('id', '=', account.accountId)
        .where((eb) =>
          cursor.previous === null ? eb('history_id', 'is', null) : eb('history_id', '=', cursor.previous),
        )
        .executeTakeFirst();
      cursorSaved = Number(result.numUpdatedRows) === 1;
    }
    return { inserted, newContacts, cursorSaved };
  });
}
