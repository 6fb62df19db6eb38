/**
 * One email_sync job, whatever the provider (Gmail, IMAP): incremental from the stored cursor
 * when there is one, otherwise (or when the provider has forgotten it) a full sync of recent mail. Each page is stored in its own
 * transaction; the new cursor is written with the last page, so an interrupted sync starts over
 * from the old cursor and the messages it already stored are skipped without being fetched.
 */
import type { Database, JsonObject, MailAccount } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { accountAccess, findMailAccount } from './mail-accounts.ts';
import {
  CursorExpiredError,
  type IdPage,
  MailAuthError,
  type MailProvider,
  type MailSession,
  type MessageFailure,
} from './provider.ts';
import { type BatchAccount, storeBatch } from './store-batch.ts';

export interface SyncDeps {
  /** The providers this agent serves, chosen by `mail_accounts.provider`. */
  providers: MailProvider[];
  encryptionKey: Buffer;
  /** A full sync without `since` fetches this many days back. */
  fullSyncLookbackDays: number;
}

export interface SyncRequest {
  workspaceId: string;
  accountId: string;
  /** Lower bound of a full sync (overrides the lookback). */
  since?: Date;
}

export interface SyncContext {
  log: Logger;
  signal?: AbortSignal;
  progress?: (value: JsonObject) => Promise<void> | void;
  /** Tells the runtime's scrubber about a credential decrypted or fetched during the sync. */
  registerSecret?: (value: string) => void;
}

export interface SyncResult {
  emails_synced: number;
  new_contacts: number;
  pages: number;
  full_sync: boolean;
  /** Why a full sync ran: no stored cursor, or the provider had expired it. */
  full_sync_reason: 'no_cursor' | 'cursor_expired' | null;
  /** Listed messages skipped because they were stored by an earlier run. */
  already_stored: number;
  /** Listed messages the provider no longer had when fetched. */
  vanished: number;
  cursor: string;
  cursor_saved: boolean;
  /** Messages that could not be parsed (all of them, while failed_messages lists at most 100). */
  failed_count: number;
  failed_messages: MessageFailure[];
}

/** Failure reasons kept in the output; the count is always exact. */
const MAX_LISTED_FAILURES = 100;

async function existingIds(db: Kysely<Database>, workspaceId: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('emails')
    .select('provider_message_id')
    .where('workspace_id', '=', workspaceId)
    .where('provider_message_id', 'in', ids)
    .execute();
  return new Set(rows.map((r) => r.provider_message_id));
}

/** Runs one sync; throws PermanentError for what retrying cannot fix. */
export async function syncAccount(
  db: Kysely<Database>,
  deps: SyncDeps,
  request: SyncRequest,
  ctx: SyncContext,
): Promise<SyncResult> {
  const { log, signal } = ctx;
  const account = await findMailAccount(db, request.workspaceId, request.accountId);
  if (!account) {
    throw new PermanentError(
      `account_id: mail account ${request.accountId} not found in workspace ${request.workspaceId}`,
    );
  }
  if (!account.is_active) throw new PermanentError(`mail account ${account.id} is inactive`);
  const provider = deps.providers.find((p) => p.name === account.provider);
  if (!provider) {
    throw new PermanentError(
      `mail account ${account.id} uses provider "${account.provider}", which this agent does not serve ` +
        `(it serves ${deps.providers.map((p) => `"${p.name}"`).join(', ')})`,
    );
  }
  const access = accountAccess(account, deps.encryptionKey);
  // The decrypted credential is a secret from here on: nothing the sync reports may carry it.
  ctx.registerSecret?.(access.secret);

  let session: MailSession;
  try {
    session = await provider.openSession(access, { signal, log, registerSecret: ctx.registerSecret });
  } catch (error) {
    if (error instanceof MailAuthError)
      throw new PermanentError(`mail account ${account.id}: ${error.message}`, { cause: error });
    throw error;
  }
  try {
    return await syncSession(db, deps, request, ctx, account, session);
  } finally {
    await session.close?.().catch((err) => log.warn({ err }, 'could not close the mail session'));
  }
}

async function syncSession(
  db: Kysely<Database>,
  deps: SyncDeps,
  request: SyncRequest,
  ctx: SyncContext,
  account: MailAccount,
  session: MailSession,
): Promise<SyncResult> {
  const { log, signal } = ctx;
  const batchAccount: BatchAccount = {
    workspaceId: account.workspace_id,
    accountId: account.id,
    emailAddress: account.email_address.toLowerCase(),
  };
  const result: SyncResult = {
    emails_synced: 0,
    new_contacts: 0,
    pages: 0,
    full_sync: false,
    full_sync_reason: null,
    already_stored: 0,
    vanished: 0,
    cursor: account.history_id ?? '',
    cursor_saved: false,
    failed_count: 0,
    failed_messages: [],
  };

  /** Fetches the page's new messages and stores them; with `nextCursor`, also the cursor. */
  const processPage = async (page: IdPage, nextCursor: string | null) => {
    const stored = await existingIds(db, account.workspace_id, page.messageIds);
    const wanted = page.messageIds.filter((id) => !stored.has(id));
    const fetched = await session.getMessages(wanted, { signal, log });
    const outcome = await storeBatch(
      db,
      batchAccount,
      fetched.emails,
      nextCursor === null ? undefined : { previous: account.history_id, next: nextCursor },
    );
    result.pages += 1;
    result.emails_synced += outcome.inserted;
    result.new_contacts += outcome.newContacts;
    result.already_stored += stored.size + (fetched.emails.length - outcome.inserted);
    result.vanished += fetched.gone.length;
    result.failed_count += fetched.failures.length;
    for (const f of fetched.failures) {
      if (result.failed_messages.length < MAX_LISTED_FAILURES) result.failed_messages.push(f);
      log.warn({ messageId: f.id, reason: f.reason }, 'message could not be parsed');
    }
    if (nextCursor !== null) {
      result.cursor = nextCursor;
      result.cursor_saved = outcome.cursorSaved;
      if (!outcome.cursorSaved) log.warn({ accountId: account.id }, 'cursor moved by another sync; kept theirs');
    }
    await ctx.progress?.({ pages: result.pages, emails_synced: result.emails_synced });
  };

  const incremental = async (cursor: string) => {
    let pageToken: string | null = null;
    do {
      const page = await session.listChangesSince(cursor, pageToken, { signal });
      pageToken = page.nextPageToken;
      await processPage(page, pageToken === null ? page.cursor : null);
    } while (pageToken !== null);
  };

  const full = async () => {
    result.full_sync = true;
    // Read the cursor before listing: anything that arrives during the listing is then picked up
    // by the next incremental sync (and deduplicated if the listing saw it too).
    const cursor = await session.currentCursor({ signal });
    const since = request.since ?? new Date(Date.now() - deps.fullSyncLookbackDays * 86_400_000);
    let pageToken: string | null = null;
    do {
      const page = await session.listMessages(since, pageToken, { signal });
      pageToken = page.nextPageToken;
      await processPage(page, pageToken === null ? cursor : null);
    } while (pageToken !== null);
  };

  try {
    if (account.history_id) {
      try {
        await incremental(account.history_id);
      } catch (error) {
        if (!(error instanceof CursorExpiredError)) throw error;
        log.info({ accountId: account.id, historyId: account.history_id }, 'history id expired; running a full sync');
        result.full_sync_reason = 'cursor_expired';
        await full();
      }
    } else {
      result.full_sync_reason = 'no_cursor';
      await full();
    }
  } catch (error) {
    // Credentials rejected mid-sync even after a refresh: the pages stored so far stay stored.
    if (error instanceof MailAuthError)
      throw new PermanentError(`mail account ${account.id}: ${error.message}`, { cause: error });
    throw error;
  }
  log.info(
    {
      accountId: account.id,
      emailsSynced: result.emails_synced,
      newContacts: result.new_contacts,
      pages: result.pages,
      fullSync: result.full_sync,
      failed: result.failed_count,
    },
    'mail account synced',
  );
  return result;
}
