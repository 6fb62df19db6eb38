/**
 * One content_calendar_sync job: a workspace's content calendar and one CalDAV collection brought
 * in step, both ways.
 *
 * 1. Pull. With a stored sync token, the changes since it (RFC 6578 sync-collection); without
 *    one, or when the server refuses it (token reset), a full listing of every member's ETag
 *    compared with the stored ETags — which is also how servers without sync-collection are
 *    synced. Changed events are fetched with calendar-multiget and applied; members gone from the
 *    calendar delete their items (soft: deleted_at).
 * 2. Push. Items changed in the workspace since the calendar last saw them (updated_at >
 *    synced_at) are written with PUT (If-None-Match: * for new ones, If-Match with the known ETag
 *    otherwise); deleted items are removed with DELETE + If-Match.
 * 3. The sync token and ctag from step 1 are stored: a remote change made while step 2 ran is
 *    reported again next time, never lost.
 *
 * Conflicts (an item changed on both sides since the last sync): the last writer wins, comparing
 * the event's LAST-MODIFIED (DTSTAMP when it has none) with the item's updated_at; a tie keeps
 * the workspace's version. A deletion on the calendar of an item edited in the workspace since
 * its last sync loses: the item is created on the calendar again. A PUT or DELETE refused by
 * If-Match (the calendar changed between pull and push) is left for the next sync, which sees
 * that change and decides by the same rule. Every conflict is listed in the output.
 *
 * Tenant isolation: every read and write names the job's workspace and calendar.
 * Two syncs of one calendar never interleave: the second finds the advisory lock taken and ends.
 */
import { decryptToken, TokenDecryptionError } from '@fleet/agent-email-integration/token-crypto';
import type { ContentCalendarItem, Database } from '@fleet/db';
import { isUuid } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { RefusedUrlError, type SafeFetch } from '@fleet/safe-fetch';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import {
  type CalDavCollection,
  CalDavError,
  type CalendarResource,
  type Member,
  openCollection,
  PreconditionFailedError,
  SyncTokenInvalidError,
} from './caldav-collection.ts';
import { findContentCalendar } from './content-calendars.ts';
import { buildEvent, type CalendarEvent, InvalidEventError, isValidRrule, parseEvent } from './icalendar.ts';

export interface SyncDeps {
  encryptionKey: Buffer;
  /** The guarded fetch every CalDAV request goes through. */
  http: SafeFetch;
  /** Cap on one CalDAV request. */
  requestTimeoutMs: number;
}

export interface SyncRequest {
  workspaceId: string;
  calendarId: string;
}

export interface SyncContext {
  log: Logger;
  signal?: AbortSignal;
  /** Tells the runtime's scrubber about the decrypted password. */
  registerSecret?: (value: string) => void;
}

export interface Conflict {
  item_id: string;
  uid: string | null;
  winner: 'calendar' | 'workspace';
  reason: string;
}

export interface SyncResult {
  calendar_id: string;
  /** How changes were found: RFC 6578 sync-collection, or a full listing compared by ETag. */
  method: 'sync-collection' | 'etag-listing';
  /** The server refused the stored sync token, so this run listed everything. */
  token_reset: boolean;
  pulled: { created: number; updated: number; deleted: number; unchanged: number };
  pushed: { created: number; updated: number; deleted: number };
  conflicts: Conflict[];
  /** Pushes refused by If-Match / If-None-Match: the calendar changed meanwhile; the next sync decides. */
  deferred: Array<{ item_id: string; reason: string }>;
  failed_count: number;
  /** Events that could not be read and items that could not be written (first 100). */
  failures: Array<{ href?: string; item_id?: string; reason: string }>;
  /** Set when another sync of the same calendar was running and this one did nothing. */
  skipped?: string;
}

const MAX_LISTED_FAILURES = 100;

export async function syncCalendar(
  db: Kysely<Database>,
  deps: SyncDeps,
  request: SyncRequest,
  ctx: SyncContext,
): Promise<SyncResult> {
  const calendar = await findContentCalendar(db, request.workspaceId, request.calendarId);
  if (!calendar) {
    throw new PermanentError(`content calendar ${request.calendarId} not found in workspace ${request.workspaceId}`);
  }
  if (!calendar.is_active) throw new PermanentError(`content calendar ${calendar.id} is not active`);
  let password: string | null = null;
  if (calendar.password_encrypted) {
    try {
      password = decryptToken(deps.encryptionKey, calendar.password_encrypted);
    } catch (error) {
      if (error instanceof TokenDecryptionError)
        throw new PermanentError(`content calendar ${calendar.id}: ${error.message}`);
      throw error;
    }
    ctx.registerSecret?.(password);
  }
  const collection = openCollection({
    url: calendar.url,
    username: calendar.username,
    password,
    http: deps.http,
    timeoutMs: deps.requestTimeoutMs,
    signal: ctx.signal,
  });

  const result: SyncResult = {
    calendar_id: calendar.id,
    method: 'sync-collection',
    token_reset: false,
    pulled: { created: 0, updated: 0, deleted: 0, unchanged: 0 },
    pushed: { created: 0, updated: 0, deleted: 0 },
    conflicts: [],
    deferred: [],
    failed_count: 0,
    failures: [],
  };

  // One connection holds the calendar's advisory lock for the whole sync.
  return db.connection().execute(async (conn) => {
    const lockKey = sql`hashtextextended(${`content_calendar:${calendar.id}`}, 0)`;
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${lockKey}) AS locked`.execute(conn);
    if (!rows[0]?.locked) return { ...result, skipped: 'another sync of this calendar is running' };
    try {
      const scope = { workspaceId: calendar.workspace_id, calendarId: calendar.id };
      const state = await guard(() => pull(conn, collection, scope, calendar.sync_token, result, ctx.log));
      await guard(() => push(conn, collection, scope, result, ctx.log));
      await conn
        .updateTable('content_calendars')
        .set({ sync_token: state.syncToken, ctag: state.ctag, last_synced_at: sql<Date>`now()` })
        .where('id', '=', calendar.id)
        .where('workspace_id', '=', calendar.workspace_id)
        .execute();
      ctx.log.info(
        { calendarId: calendar.id, method: result.method, pulled: result.pulled, pushed: result.pushed },
        'content calendar synced',
      );
      return result;
    } finally {
      await sql`SELECT pg_advisory_unlock(${lockKey})`.execute(conn);
    }
  });
}

/**
 * Credentials the server refuses, a URL it has no calendar at, or a URL the address rules refuse
 * cannot be fixed by retrying.
 */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RefusedUrlError) throw new PermanentError(error.message, { cause: error });
    if (error instanceof CalDavError && [401, 403, 404, 405].includes(error.status)) {
      throw new PermanentError(error.message, { cause: error });
    }
    throw error;
  }
}

interface Scope {
  workspaceId: string;
  calendarId: string;
}

type Db = Kysely<Database>;

function items(db: Db, scope: Scope) {
  return db
    .selectFrom('content_calendar_items')
    .selectAll()
    .where('workspace_id', '=', scope.workspaceId)
    .where('calendar_id', '=', scope.calendarId);
}

const isDirty = (item: ContentCalendarItem) => item.synced_at === null || item.updated_at > item.synced_at;

function fail(result: SyncResult, failure: SyncResult['failures'][number]): void {
  result.failed_count++;
  if (result.failures.length < MAX_LISTED_FAILURES) result.failures.push(failure);
}

async function pull(
  db: Db,
  collection: CalDavCollection,
  scope: Scope,
  storedToken: string | null,
  result: SyncResult,
  log: Logger,
): Promise<{ syncToken: string | null; ctag: string | null }> {
  let changed: Member[];
  let deleted: string[];
  let syncToken: string | null;
  let ctag: string | null = null;
  let incremental = false;
  if (storedToken) {
    try {
      const changes = await collection.changesSince(storedToken);
      ({ changed, deleted, syncToken } = changes);
      incremental = true;
    } catch (error) {
      if (!(error instanceof SyncTokenInvalidError)) throw error;
      log.warn({ err: error }, 'sync token refused; listing the whole calendar');
      result.token_reset = true;
    }
  }
  if (!incremental) {
    result.method = 'etag-listing';
    const listing = await collection.list();
    const known = await items(db, scope).where('external_href', 'is not', null).execute();
    const etags = new Map(known.map((i) => [i.external_href!, i.external_etag]));
    const present = new Set(listing.members.map((m) => m.href));
    changed = listing.members.filter((m) => m.etag === null || etags.get(m.href) !== m.etag);
    deleted = [...etags.keys()].filter((href) => !present.has(href));
    syncToken = listing.syncToken;
    ctag = listing.ctag;
  }
  const resources = await collection.get(changed!.map((m) => m.href));
  for (const resource of resources) await applyRemote(db, scope, resource, result);
  for (const href of deleted!) await applyRemoteDeletion(db, scope, href, result);
  return { syncToken: syncToken!, ctag };
}

/** The item a calendar resource belongs to: by href, by UID, or by the item id a lost push used as UID. */
async function findLinked(db: Db, scope: Scope, href: string, uid: string): Promise<ContentCalendarItem | undefined> {
  return (
    (await items(db, scope).where('external_href', '=', href).executeTakeFirst()) ??
    (await items(db, scope).where('external_uid', '=', uid).executeTakeFirst()) ??
    (isUuid(uid)
      ? await items(db, scope).where('id', '=', uid).where('external_uid', 'is', null).executeTakeFirst()
      : undefined)
  );
}

function contentOf(event: CalendarEvent) {
  return {
    kind: event.kind,
    title: event.title,
    body: event.body,
    starts_at: event.startsAt,
    ends_at: event.endsAt,
    time_zone: event.timeZone,
    rrule: event.rrule,
    status: event.status,
  };
}

async function applyRemote(db: Db, scope: Scope, resource: CalendarResource, result: SyncResult): Promise<void> {
  let event: CalendarEvent;
  try {
    event = parseEvent(resource.data);
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    fail(result, { href: resource.href, reason: error.message });
    return;
  }
  const link = { external_uid: event.uid, external_href: resource.href, external_etag: resource.etag };
  const item = await findLinked(db, scope, resource.href, event.uid);
  if (!item) {
    await db
      .insertInto('content_calendar_items')
      .values({
        workspace_id: scope.workspaceId,
        calendar_id: scope.calendarId,
        ...contentOf(event),
        ...link,
        updated_at: sql<Date>`now()`,
        synced_at: sql<Date>`now()`,
      })
      .execute();
    result.pulled.created++;
    return;
  }
  if (item.external_href === resource.href && item.external_etag !== null && item.external_etag === resource.etag) {
    result.pulled.unchanged++; // our own write, reported back
    return;
  }
  if (isDirty(item)) {
    const remoteAt = event.modifiedAt?.getTime() ?? 0;
    if (remoteAt <= item.updated_at.getTime()) {
      // The workspace's version is newer: keep it, and push it over the version now known.
      await db
        .updateTable('content_calendar_items')
        .set(link)
        .where('id', '=', item.id)
        .where('workspace_id', '=', scope.workspaceId)
        .execute();
      result.conflicts.push({
        item_id: item.id,
        uid: event.uid,
        winner: 'workspace',
        reason: `changed on both sides; the workspace's change (${item.updated_at.toISOString()}) is not older than the calendar's (${event.modifiedAt?.toISOString() ?? 'no LAST-MODIFIED or DTSTAMP'})`,
      });
      return;
    }
    result.conflicts.push({
      item_id: item.id,
      uid: event.uid,
      winner: 'calendar',
      reason: `changed on both sides; the calendar's change (${event.modifiedAt!.toISOString()}) is newer than the workspace's (${item.updated_at.toISOString()})`,
    });
  }
  const updated = await db
    .updateTable('content_calendar_items')
    .set({ ...contentOf(event), ...link, deleted_at: null, updated_at: sql<Date>`now()`, synced_at: sql<Date>`now()` })
    .where('id', '=', item.id)
    .where('workspace_id', '=', scope.workspaceId)
    // a workspace edit that came in since the read is not overwritten: the next sync decides
    .where('updated_at', '=', item.updated_at)
    .executeTakeFirst();
  if (updated.numUpdatedRows > 0n) result.pulled.updated++;
}

async function applyRemoteDeletion(db: Db, scope: Scope, href: string, result: SyncResult): Promise<void> {
  const item = await items(db, scope).where('external_href', '=', href).executeTakeFirst();
  if (!item) return;
  if (isDirty(item) && item.deleted_at === null) {
    // Edited in the workspace since the calendar last saw it: the edit is newer than the
    // deletion could be, so the item goes back onto the calendar (the push creates it).
    await db
      .updateTable('content_calendar_items')
      .set({ external_href: null, external_etag: null })
      .where('id', '=', item.id)
      .where('workspace_id', '=', scope.workspaceId)
      .execute();
    result.conflicts.push({
      item_id: item.id,
      uid: item.external_uid,
      winner: 'workspace',
      reason: 'deleted on the calendar but edited in the workspace since its last sync; created again',
    });
    return;
  }
  await db
    .updateTable('content_calendar_items')
    .set({
      deleted_at: item.deleted_at ?? sql<Date>`now()`,
      external_href: null,
      external_etag: null,
      updated_at: sql<Date>`now()`,
      synced_at: sql<Date>`now()`,
    })
    .where('id', '=', item.id)
    .where('workspace_id', '=', scope.workspaceId)
    .execute();
  result.pulled.deleted++;
}

async function push(
  db: Db,
  collection: CalDavCollection,
  scope: Scope,
  result: SyncResult,
  log: Logger,
): Promise<void> {
  const dirty = await items(db, scope)
    .where((eb) => eb.or([eb('synced_at', 'is', null), eb('updated_at', '>', eb.ref('synced_at'))]))
    .orderBy('updated_at')
    .execute();
  for (const item of dirty) {
    // The version pushed: an edit made while the request is in flight keeps the item dirty.
    const version = item.updated_at;
    const record = (set: { external_uid?: string; external_href: string | null; external_etag: string | null }) =>
      db
        .updateTable('content_calendar_items')
        .set({ ...set, synced_at: version })
        .where('id', '=', item.id)
        .where('workspace_id', '=', scope.workspaceId)
        .execute();
    try {
      if (item.deleted_at !== null) {
        if (item.external_href !== null) {
          await collection.remove(item.external_href, item.external_etag);
          result.pushed.deleted++;
        }
        await record({ external_href: null, external_etag: null });
        continue;
      }
      if (item.rrule !== null && !isValidRrule(item.rrule)) {
        fail(result, { item_id: item.id, reason: `rrule is not an RFC 5545 RRULE value: ${item.rrule}` });
        continue;
      }
      const uid = item.external_uid ?? item.id;
      const ics = buildEvent({
        uid,
        title: item.title,
        body: item.body,
        startsAt: item.starts_at,
        endsAt: item.ends_at,
        timeZone: item.time_zone,
        rrule: item.rrule,
        kind: item.kind,
        status: item.status,
        modifiedAt: item.updated_at,
      });
      if (item.external_href !== null) {
        const written = await collection.update(item.external_href, ics, item.external_etag);
        await record({ external_uid: uid, external_href: written.href, external_etag: written.etag });
        result.pushed.updated++;
      } else {
        const written = await collection.create(`${item.id}.ics`, ics);
        await record({ external_uid: uid, external_href: written.href, external_etag: written.etag });
        result.pushed.created++;
      }
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        result.deferred.push({ item_id: item.id, reason: error.message });
        continue;
      }
      if (
        error instanceof CalDavError &&
        error.status >= 400 &&
        error.status < 500 &&
        ![401, 403, 404].includes(error.status)
      ) {
        // The server rejects this one event (too large, an RRULE it does not support, ...).
        log.warn({ err: error, itemId: item.id }, 'calendar refused an item');
        fail(result, { item_id: item.id, reason: error.message });
        continue;
      }
      throw error;
    }
  }
}
