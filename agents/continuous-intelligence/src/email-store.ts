/**
 * Repository functions for the emails the agent reads and the insights it writes. Emails are
 * claimed with a lease (FOR UPDATE SKIP LOCKED), so concurrent runs never extract, and pay for,
 * the same email twice; a crashed run's lease expires and the email comes back.
 */
import type { Database, JsonObject } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import type { Extraction } from './insight.ts';

export interface TargetWorkspace {
  id: string;
  timezone: string;
  settings: JsonObject;
}

/** The workspace of the payload (when it exists and is active), or every active workspace. */
export async function listTargetWorkspaces(db: Kysely<Database>, workspaceId?: string): Promise<TargetWorkspace[]> {
  let q = db.selectFrom('workspaces').select(['id', 'timezone', 'settings']).where('is_active', '=', true);
  if (workspaceId) q = q.where('id', '=', workspaceId);
  return q.orderBy('created_at').orderBy('id').execute();
}

export async function workspaceExists(db: Kysely<Database>, workspaceId: string): Promise<{ active: boolean } | null> {
  const row = await db.selectFrom('workspaces').select('is_active').where('id', '=', workspaceId).executeTakeFirst();
  return row ? { active: row.is_active } : null;
}

export interface ClaimedEmail {
  id: string;
  workspace_id: string;
  contact_id: string | null;
  direction: 'inbound' | 'outbound';
  /** Null for mail that names no sender. */
  from_address: string | null;
  from_name: string | null;
  to_addresses: string[];
  subject: string | null;
  snippet: string | null;
  body_text: string | null;
  sent_at: Date;
}

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  /** Emails that failed this many times are left alone (their last error stays on the row). */
  maxAttempts: number;
  /** Emails already tried in this run. */
  exclude: string[];
}

/** Leases up to `limit` unprocessed emails of a workspace, oldest first. */
export async function claimEmails(
  db: Kysely<Database>,
  workspaceId: string,
  opts: ClaimOptions,
): Promise<ClaimedEmail[]> {
  let pick = db
    .selectFrom('emails')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('processed_at', 'is', null)
    .where('intelligence_attempts', '<', opts.maxAttempts)
    .where((eb) =>
      eb.or([eb('intelligence_claimed_until', 'is', null), eb('intelligence_claimed_until', '<', sql<Date>`now()`)]),
    );
  if (opts.exclude.length > 0) pick = pick.where('id', 'not in', opts.exclude);
  const rows = await db
    .updateTable('emails')
    .set({ intelligence_claimed_until: sql`now() + make_interval(secs => ${opts.leaseMs / 1000})` })
    .where('id', 'in', pick.orderBy('sent_at').orderBy('id').limit(opts.limit).forUpdate().skipLocked())
    .returning([
      'id',
      'workspace_id',
      'contact_id',
      'direction',
      'from_address',
      'from_name',
      'to_addresses',
      'subject',
      'snippet',
      'body_text',
      'sent_at',
    ])
    .execute();
  // UPDATE ... RETURNING does not keep the subquery's order.
  return rows.sort((a, b) => a.sent_at.getTime() - b.sent_at.getTime() || a.id.localeCompare(b.id));
}

/** The contact an email belongs to: its own link, else the counterpart's address in contacts. */
async function contactFor(db: Kysely<Database>, email: ClaimedEmail): Promise<string | null> {
  if (email.contact_id) return email.contact_id;
  const addresses =
    email.direction === 'inbound' ? (email.from_address ? [email.from_address] : []) : email.to_addresses;
  if (addresses.length === 0) return null;
  const row = await db
    .selectFrom('contacts')
    .select('id')
    .where('workspace_id', '=', email.workspace_id)
    .where(
      sql`lower(email)`,
      'in',
      addresses.map((a) => a.toLowerCase()),
    )
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

/**
 * Stores the insight and marks the email processed in one transaction: a crash before the commit
 * leaves neither (the email is extracted again), and the unique email_id means a replay never
 * adds a second insight. Returns false when the email already had one.
 */
export async function saveInsight(db: Kysely<Database>, email: ClaimedEmail, x: Extraction): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const contactId = await contactFor(trx, email);
    const inserted = await trx
      .insertInto('email_insights')
      .values({
        workspace_id: email.workspace_id,
        email_id: email.id,
        contact_id: contactId,
        intent: x.insight.intent,
        intents: x.insight.intents,
        sentiment: x.insight.sentiment,
        sentiment_score: x.insight.sentiment_score,
        urgency: x.insight.urgency,
        action_items: JSON.stringify(x.insight.action_items),
        mentioned_dates: JSON.stringify(x.insight.mentioned_dates),
        people: JSON.stringify(x.insight.people),
        companies: JSON.stringify(x.insight.companies),
        extractor: x.extractor,
        model: x.model,
        cost_usd: x.costUsd.toFixed(9),
        input_tokens: x.usage.input,
        output_tokens: x.usage.output,
        cache_read_tokens: x.usage.cacheRead,
        cache_write_tokens: x.usage.cacheWrite,
      })
      .onConflict((oc) => oc.column('email_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    await trx
      .updateTable('emails')
      .set({ processed_at: sql`now()`, intelligence_claimed_until: null, intelligence_error: null })
      .where('id', '=', email.id)
      .execute();
    return inserted !== undefined;
  });
}

/** Records a failed extraction and frees the email for the next run. */
export async function markFailed(db: Kysely<Database>, emailId: string, reason: string): Promise<void> {
  await db
    .updateTable('emails')
    .set((eb) => ({
      intelligence_attempts: eb('intelligence_attempts', '+', 1),
      intelligence_error: reason.slice(0, 2000),
      intelligence_claimed_until: null,
    }))
    .where('id', '=', emailId)
    .execute();
}

/** Gives leased, untouched emails back (the run stopped before reaching them). */
export async function releaseClaims(db: Kysely<Database>, emailIds: string[]): Promise<void> {
  if (emailIds.length === 0) return;
  await db
    .updateTable('emails')
    .set({ intelligence_claimed_until: null })
    .where('id', 'in', emailIds)
    .where('processed_at', 'is', null)
    .execute();
}

/** Unprocessed emails that reached the attempt limit and are no longer tried. */
export async function countGivenUp(db: Kysely<Database>, workspaceId: string, maxAttempts: number): Promise<number> {
  const row = await db
    .selectFrom('emails')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('processed_at', 'is', null)
    .where('intelligence_attempts', '>=', maxAttempts)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
