/**
 * The content calendar synced against a real CalDAV server (Radicale, started by the test):
 * create, move and delete on each side; a recurring event across a DST change; conflicts by
 * LAST-MODIFIED; a sync token the server forgot; tenant isolation; the address rules.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { decryptToken } from '@fleet/agent-email-integration/token-crypto';
import type { ContentCalendarItem } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { createSafeFetch, parseAllowlist } from '@fleet/safe-fetch';
import { createTestDatabase, createWorkspace, type TestDatabase } from '@fleet/testing';
import ICAL from 'ical.js';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContentCalendar } from '../src/content-calendars.ts';
import { type SyncDeps, syncCalendar } from '../src/sync-calendar.ts';
import { type CalDavClient, type Radicale, startRadicale } from './radicale.ts';

const key = randomBytes(32);
const log = pino({ level: 'silent' });
const http = createSafeFetch({ allow: parseAllowlist(['127.0.0.1']), allowVariable: 'CALDAV_ALLOWED_HOSTS' });
const deps: SyncDeps = { encryptionKey: key, http, requestTimeoutMs: 10_000 };

let t: TestDatabase;
let radicale: Radicale;
let client: CalDavClient;
let n = 0;

beforeAll(async () => {
  [t, radicale] = await Promise.all([createTestDatabase('content_calendar'), startRadicale()]);
  client = await radicale.addUser('ana', 'cal-secret-ana');
}, 30_000);
afterAll(async () => {
  await http.close();
  await radicale?.stop();
  await t?.drop();
});

/** A workspace with a fresh calendar on the server, connected. */
async function connected() {
  const workspaceId = await createWorkspace(t.db);
  const url = await client.makeCalendar(`content-${++n}`);
  const calendar = await addContentCalendar(t.db, key, {
    workspaceId,
    url,
    username: 'ana',
    password: 'cal-secret-ana',
  });
  const sync = () => syncCalendar(t.db, deps, { workspaceId, calendarId: calendar.id }, { log });
  return { workspaceId, url, calendarId: calendar.id, sync };
}

function ics(fields: {
  uid: string;
  summary: string;
  start: string;
  tzid?: string;
  rrule?: string;
  modified?: string;
}) {
  const dt = fields.tzid ? `DTSTART;TZID=${fields.tzid}:${fields.start}` : `DTSTART:${fields.start}`;
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//calendar app//EN',
    'BEGIN:VEVENT',
    `UID:${fields.uid}`,
    `DTSTAMP:${fields.modified ?? '20260101T000000Z'}`,
    `LAST-MODIFIED:${fields.modified ?? '20260101T000000Z'}`,
    dt,
    'DURATION:PT1H',
    ...(fields.rrule ? [`RRULE:${fields.rrule}`] : []),
    `SUMMARY:${fields.summary}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const itemsOf = (workspaceId: string) =>
  t.db
    .selectFrom('content_calendar_items')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .execute();

async function insertItem(workspaceId: string, calendarId: string, values: Partial<ContentCalendarItem> = {}) {
  return t.db
    .insertInto('content_calendar_items')
    .values({
      workspace_id: workspaceId,
      calendar_id: calendarId,
      kind: 'post',
      title: 'Launch post',
      body: 'We are live',
      starts_at: new Date('2026-06-01T07:00:00Z'),
      time_zone: 'Europe/Berlin',
      status: 'scheduled',
      ...values,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The master VEVENT of a resource on the server. */
async function remoteEvent(url: string) {
  const text = await client.get(url);
  if (text === null) return null;
  const vevent = new ICAL.Component(ICAL.parse(text)).getFirstSubcomponent('vevent')!;
  return { text, vevent };
}

describe('workspace to calendar', () => {
  it('creates, moves and deletes events for items', async () => {
    const { workspaceId, url, calendarId, sync } = await connected();
    const item = await insertItem(workspaceId, calendarId);
    const first = await sync();
    expect(first.pushed).toEqual({ created: 1, updated: 0, deleted: 0 });
    const [href] = await client.members(url);
    expect(href).toBe(`${new URL(url).pathname}${item.id}.ics`);
    const created = (await remoteEvent(new URL(href!, url).toString()))!;
    expect(created.vevent.getFirstPropertyValue('summary')).toBe('Launch post');
    expect(created.text).toContain('DTSTART;TZID=Europe/Berlin:20260601T090000');
    expect(created.vevent.getFirstPropertyValue('x-fleet-status')).toBe('scheduled');
    const synced = (await itemsOf(workspaceId))[0]!;
    expect(synced.external_href).toBe(href);
    expect(synced.synced_at?.getTime()).toBe(synced.updated_at.getTime());

    // Nothing changed: nothing is written, and our own write is not pulled back as a change.
    const quiet = await sync();
    expect(quiet.pushed).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(quiet.pulled).toMatchObject({ created: 0, updated: 0, deleted: 0 });

    await t.db
      .updateTable('content_calendar_items')
      .set({ starts_at: new Date('2026-06-02T13:30:00Z') })
      .where('id', '=', item.id)
      .execute();
    expect((await sync()).pushed.updated).toBe(1);
    expect((await client.get(new URL(href!, url).toString()))!).toContain('DTSTART;TZID=Europe/Berlin:20260602T153000');

    await t.db
      .updateTable('content_calendar_items')
      .set({ deleted_at: new Date() })
      .where('id', '=', item.id)
      .execute();
    expect((await sync()).pushed.deleted).toBe(1);
    expect(await client.members(url)).toEqual([]);
    expect((await itemsOf(workspaceId))[0]).toMatchObject({ external_href: null, deleted_at: expect.any(Date) });
  });

  it('writes a weekly item as a recurring event in its zone, which keeps 09:00 across DST', async () => {
    const { workspaceId, url, calendarId, sync } = await connected();
    await insertItem(workspaceId, calendarId, {
      title: 'Weekly digest',
      starts_at: new Date('2026-03-20T08:00:00Z'), // Friday 09:00 CET
      rrule: 'FREQ=WEEKLY;BYDAY=FR;COUNT=4',
    });
    await sync();
    const [href] = await client.members(url);
    const { text } = (await remoteEvent(new URL(href!, url).toString()))!;
    expect(text).toMatch(/RRULE:FREQ=WEEKLY;(COUNT=4;BYDAY=FR|BYDAY=FR;COUNT=4)/);
    // Any calendar app expands it from the file alone (its VTIMEZONE included).
    const root = new ICAL.Component(ICAL.parse(text));
    const zone = new ICAL.Timezone(root.getFirstSubcomponent('vtimezone')!);
    ICAL.TimezoneService.register(zone, 'Europe/Berlin');
    const occurrences: string[] = [];
    const it = new ICAL.Event(root.getFirstSubcomponent('vevent')!).iterator();
    for (let next = it.next(); next; next = it.next()) occurrences.push(next.toJSDate().toISOString());
    ICAL.TimezoneService.remove('Europe/Berlin');
    // Berlin moves to summer time on 29 March: the same 09:00 is 07:00 UTC from then on.
    expect(occurrences).toEqual([
      '2026-03-20T08:00:00.000Z',
      '2026-03-27T08:00:00.000Z',
      '2026-04-03T07:00:00.000Z',
      '2026-04-10T07:00:00.000Z',
    ]);
  });

  it('reports an item whose RRULE is not RFC 5545 and syncs the rest', async () => {
    const { workspaceId, calendarId, sync } = await connected();
    const bad = await insertItem(workspaceId, calendarId, { rrule: 'EVERY MONDAY' });
    await insertItem(workspaceId, calendarId, { title: 'fine' });
    const result = await sync();
    expect(result.pushed.created).toBe(1);
    expect(result.failures).toEqual([{ item_id: bad.id, reason: expect.stringContaining('EVERY MONDAY') }]);
  });
});

describe('calendar to workspace', () => {
  it('creates, moves and deletes items for events, reading zones and recurrence', async () => {
    const { workspaceId, url, sync } = await connected();
    await client.put(
      `${url}standup.ics`,
      ics({
        uid: 'standup-1',
        summary: 'Campaign review',
        start: '20261105T093000',
        tzid: 'America/New_York',
        rrule: 'FREQ=WEEKLY;BYDAY=TH',
      }),
    );
    const first = await sync();
    expect(first).toMatchObject({ method: 'etag-listing', pulled: { created: 1 } });
    let [item] = await itemsOf(workspaceId);
    expect(item).toMatchObject({
      title: 'Campaign review',
      kind: 'campaign', // no X-FLEET-KIND or category: never something that gets published
      status: 'draft',
      time_zone: 'America/New_York',
      rrule: 'FREQ=WEEKLY;BYDAY=TH',
      external_uid: 'standup-1',
      starts_at: new Date('2026-11-05T14:30:00Z'), // EST, after the November change
      ends_at: new Date('2026-11-05T15:30:00Z'),
    });

    await client.put(
      `${url}standup.ics`,
      ics({
        uid: 'standup-1',
        summary: 'Campaign review',
        start: '20261106T110000',
        tzid: 'America/New_York',
        modified: '20260102T000000Z',
      }),
    );
    const moved = await sync();
    expect(moved).toMatchObject({ method: 'sync-collection', pulled: { updated: 1 } });
    [item] = await itemsOf(workspaceId);
    expect(item).toMatchObject({ starts_at: new Date('2026-11-06T16:00:00Z'), rrule: null });
    expect(item!.synced_at?.getTime()).toBe(item!.updated_at.getTime());

    await client.remove(`${url}standup.ics`);
    expect((await sync()).pulled.deleted).toBe(1);
    [item] = await itemsOf(workspaceId);
    expect(item).toMatchObject({ deleted_at: expect.any(Date), external_href: null });
    // The tombstone is not pushed back as anything.
    expect((await sync()).pushed).toEqual({ created: 0, updated: 0, deleted: 0 });
  });

  it('lists an event it cannot read and goes on', async () => {
    const { workspaceId, url, sync } = await connected();
    // A task list entry: valid iCalendar, but no event to make an item of.
    const todo = ics({ uid: 'x', summary: 'x', start: '20260101T000000Z' })
      .replace(/VEVENT/g, 'VTODO')
      .replace('DURATION:PT1H\r\n', '');
    await client.put(`${url}todo.ics`, todo);
    await client.put(`${url}ok.ics`, ics({ uid: 'ok', summary: 'ok', start: '20260101T100000Z' }));
    const result = await sync();
    expect(result.pulled.created).toBe(1);
    expect(result.failures).toEqual([
      { href: expect.stringMatching(/todo\.ics$/), reason: 'no VEVENT without RECURRENCE-ID' },
    ]);
    expect((await itemsOf(workspaceId)).map((i) => i.title)).toEqual(['ok']);
  });
});

describe('conflicts: the last writer by LAST-MODIFIED wins', () => {
  async function linkedItem() {
    const ctx = await connected();
    const item = await insertItem(ctx.workspaceId, ctx.calendarId);
    await ctx.sync();
    const href = new URL((await client.members(ctx.url))[0]!, ctx.url).toString();
    return { ...ctx, item, href };
  }

  it('a calendar change newer than the workspace change wins', async () => {
    const { workspaceId, item, href, sync } = await linkedItem();
    await t.db
      .updateTable('content_calendar_items')
      .set({ title: 'workspace title' })
      .where('id', '=', item.id)
      .execute();
    const later = new Date(Date.now() + 60_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    await client.put(
      href,
      ics({ uid: item.id, summary: 'calendar title', start: '20260601T100000Z', modified: later }),
    );
    const result = await sync();
    expect(result.conflicts).toEqual([expect.objectContaining({ item_id: item.id, winner: 'calendar' })]);
    expect((await itemsOf(workspaceId))[0]!.title).toBe('calendar title');
    expect(result.pushed.updated).toBe(0);
  });

  it('a workspace change newer than the calendar change wins and is written back', async () => {
    const { workspaceId, item, href, sync } = await linkedItem();
    await client.put(
      href,
      ics({ uid: item.id, summary: 'calendar title', start: '20260601T100000Z', modified: '20260101T000000Z' }),
    );
    await t.db
      .updateTable('content_calendar_items')
      .set({ title: 'workspace title' })
      .where('id', '=', item.id)
      .execute();
    const result = await sync();
    expect(result.conflicts).toEqual([expect.objectContaining({ item_id: item.id, winner: 'workspace' })]);
    expect(result.pushed.updated).toBe(1);
    expect((await itemsOf(workspaceId))[0]!.title).toBe('workspace title');
    expect((await remoteEvent(href))!.vevent.getFirstPropertyValue('summary')).toBe('workspace title');
  });

  it('an item edited in the workspace after the calendar deleted it goes back onto the calendar', async () => {
    const { workspaceId, url, item, href, sync } = await linkedItem();
    await client.remove(href);
    await t.db.updateTable('content_calendar_items').set({ title: 'still wanted' }).where('id', '=', item.id).execute();
    const result = await sync();
    expect(result.conflicts).toEqual([expect.objectContaining({ item_id: item.id, winner: 'workspace' })]);
    expect(result.pushed.created).toBe(1);
    expect(await client.members(url)).toHaveLength(1);
    expect((await itemsOf(workspaceId))[0]).toMatchObject({ deleted_at: null, title: 'still wanted' });
  });
});

describe('without sync tokens (servers without RFC 6578)', () => {
  it('finds changes and deletions by comparing ETags', async () => {
    const { workspaceId, url, calendarId, sync } = await connected();
    const forgetToken = () =>
      t.db.updateTable('content_calendars').set({ sync_token: null }).where('id', '=', calendarId).execute();
    await client.put(`${url}a.ics`, ics({ uid: 'a', summary: 'A', start: '20260301T100000Z' }));
    await client.put(`${url}b.ics`, ics({ uid: 'b', summary: 'B', start: '20260302T100000Z' }));
    await sync();
    await forgetToken();
    await client.put(
      `${url}a.ics`,
      ics({ uid: 'a', summary: 'A moved', start: '20260305T100000Z', modified: '20260102T000000Z' }),
    );
    await client.remove(`${url}b.ics`);
    const result = await sync();
    // Only the member whose ETag changed is fetched and applied; the gone one is deleted.
    expect(result).toMatchObject({
      method: 'etag-listing',
      token_reset: false,
      pulled: { created: 0, updated: 1, deleted: 1, unchanged: 0 },
    });
    const items = await itemsOf(workspaceId);
    expect(items.map((i) => [i.title, i.starts_at.toISOString(), i.deleted_at === null]).sort()).toEqual([
      ['A moved', '2026-03-05T10:00:00.000Z', true],
      ['B', '2026-03-02T10:00:00.000Z', false],
    ]);
    await forgetToken();
    expect((await sync()).pulled).toEqual({ created: 0, updated: 0, deleted: 0, unchanged: 0 });
  });
});

describe('sync token reset', () => {
  it('syncs in full when the server no longer knows the token, deletions included', async () => {
    const { workspaceId, url, sync } = await connected();
    await client.put(`${url}a.ics`, ics({ uid: 'a', summary: 'A', start: '20260301T100000Z' }));
    await client.put(`${url}b.ics`, ics({ uid: 'b', summary: 'B', start: '20260302T100000Z' }));
    await sync();
    const before = await t.db
      .selectFrom('content_calendars')
      .select('sync_token')
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirstOrThrow();
    expect(before.sync_token).toMatch(/^http:\/\/radicale\.org\/ns\/sync\//);

    await client.remove(`${url}a.ics`);
    await client.put(`${url}c.ics`, ics({ uid: 'c', summary: 'C', start: '20260303T100000Z' }));
    // Radicale keeps the history its tokens refer to in the collection's cache; without it
    // every old token is refused with DAV:valid-sync-token, as after a restore or migration.
    await rm(join(radicale.storage, 'collection-root', new URL(url).pathname, '.Radicale.cache', 'sync-token'), {
      recursive: true,
      force: true,
    });
    const result = await sync();
    expect(result).toMatchObject({ token_reset: true, method: 'etag-listing', pulled: { created: 1, deleted: 1 } });
    const live = (await itemsOf(workspaceId)).filter((i) => i.deleted_at === null).map((i) => i.title);
    expect(live.sort()).toEqual(['B', 'C']);
    const after = await t.db
      .selectFrom('content_calendars')
      .select('sync_token')
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirstOrThrow();
    expect(after.sync_token).not.toBe(before.sync_token);
    expect((await sync()).method).toBe('sync-collection');
  });
});

describe('one sync per calendar at a time', () => {
  it('a sync that finds the calendar locked by another does nothing', async () => {
    const { workspaceId, calendarId, sync } = await connected();
    await insertItem(workspaceId, calendarId);
    const key = sql`hashtextextended(${`content_calendar:${calendarId}`}, 0)`;
    await t.db.connection().execute(async (other) => {
      await sql`SELECT pg_advisory_lock(${key})`.execute(other);
      try {
        expect(await sync()).toMatchObject({
          skipped: 'another sync of this calendar is running',
          pushed: { created: 0 },
        });
      } finally {
        await sql`SELECT pg_advisory_unlock(${key})`.execute(other);
      }
    });
    expect((await sync()).pushed.created).toBe(1);
  });
});

describe('trust', () => {
  it("a job for one workspace never reads or writes another workspace's calendar or items", async () => {
    const a = await connected();
    const b = await connected();
    await insertItem(b.workspaceId, b.calendarId, { title: 'B only' });
    await expect(
      syncCalendar(t.db, deps, { workspaceId: a.workspaceId, calendarId: b.calendarId }, { log }),
    ).rejects.toThrow(new PermanentError(`content calendar ${b.calendarId} not found in workspace ${a.workspaceId}`));
    // A's own sync leaves B's items alone: nothing of B reached B's calendar.
    await a.sync();
    expect(await client.members(b.url)).toEqual([]);
    expect((await itemsOf(b.workspaceId))[0]).toMatchObject({ external_href: null, synced_at: null });
  });

  it('stores the password encrypted and refuses a private address unless allowlisted', async () => {
    const { workspaceId, calendarId } = await connected();
    const row = await t.db
      .selectFrom('content_calendars')
      .selectAll()
      .where('id', '=', calendarId)
      .executeTakeFirstOrThrow();
    expect(row.password_encrypted).not.toContain('cal-secret-ana');
    expect(decryptToken(key, row.password_encrypted!)).toBe('cal-secret-ana');
    const open = createSafeFetch({ allowVariable: 'CALDAV_ALLOWED_HOSTS' });
    try {
      const error = await syncCalendar(t.db, { ...deps, http: open }, { workspaceId, calendarId }, { log }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(PermanentError);
      expect(error.message).toMatch(/127\.0\.0\.1 is a loopback address.*CALDAV_ALLOWED_HOSTS/);
      expect(error.message).not.toContain('cal-secret-ana');
    } finally {
      await open.close();
    }
  });

  it('a password the server refuses fails permanently without the password in the message', async () => {
    const workspaceId = await createWorkspace(t.db);
    const url = await client.makeCalendar(`content-${++n}`);
    const calendar = await addContentCalendar(t.db, key, {
      workspaceId,
      url,
      username: 'ana',
      password: 'wrong-pass-xyz',
    });
    const error = await syncCalendar(t.db, deps, { workspaceId, calendarId: calendar.id }, { log }).catch((e) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('HTTP 401');
    expect(error.message).not.toContain('wrong-pass-xyz');
  });
});
