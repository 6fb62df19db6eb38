/**
 * A content calendar item as an iCalendar VEVENT (RFC 5545) and back, with ical.js.
 *
 * Times: DTSTART/DTEND are written as wall-clock times in the item's IANA zone with a VTIMEZONE
 * from timezones-ical-library, so a weekly 09:00 Europe/Berlin post stays at 09:00 across DST in
 * every client. Read back, a TZID that names an IANA zone is resolved with that library's
 * definition, never with the file's own VTIMEZONE: a calendar shared by one workspace must not
 * redefine a zone for anybody else, and ical.js's global zone registry is left untouched. Other
 * TZIDs (e.g. Windows names) use the file's VTIMEZONE and are stored as instants without a zone.
 * All-day dates are read as midnight in the zone; floating times as UTC.
 *
 * Fleet fields travel as X-FLEET-KIND and X-FLEET-STATUS. An event made in a calendar app has
 * neither: its kind comes from CATEGORIES (`post`, `email_send`, else `campaign`, which nothing
 * publishes) and its status from STATUS (CONFIRMED = scheduled, CANCELLED = cancelled, otherwise
 * draft), so an event typed into a calendar is never published by accident.
 */
import type { ContentCalendarItemKind, ContentCalendarItemStatus } from '@fleet/db';
import ICAL from 'ical.js';
import { tzlib_get_ical_block, tzlib_get_timezones } from 'timezones-ical-library';

const KINDS: readonly ContentCalendarItemKind[] = ['post', 'campaign', 'email_send'];
const STATUSES: readonly ContentCalendarItemStatus[] = ['draft', 'scheduled', 'published', 'failed', 'cancelled'];
const PRODID = '-//agent fleet//content calendar//EN';

/** The fields of an item that a calendar event carries. */
export interface CalendarEvent {
  uid: string;
  title: string;
  body: string | null;
  startsAt: Date;
  endsAt: Date | null;
  /** IANA zone; null = UTC. */
  timeZone: string | null;
  /** RRULE value without the "RRULE:" prefix. */
  rrule: string | null;
  kind: ContentCalendarItemKind;
  status: ContentCalendarItemStatus;
  /** When the event last changed: LAST-MODIFIED, else DTSTAMP; null when it has neither. */
  modifiedAt: Date | null;
}

/** An iCalendar object the sync cannot use; the message says why. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

let ianaZones: Set<string> | undefined;
/** Whether `name` is an IANA zone the bundled database defines. */
export function isIanaZone(name: string): boolean {
  ianaZones ??= new Set(tzlib_get_timezones() as string[]);
  return ianaZones.has(name);
}

const zoneCache = new Map<string, ICAL.Timezone>();
/** The trusted definition of an IANA zone, built once. */
function ianaZone(name: string): ICAL.Timezone {
  let zone = zoneCache.get(name);
  if (!zone) {
    const block = tzlib_get_ical_block(name) as string[];
    zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(block[0]!)));
    zoneCache.set(name, zone);
  }
  return zone;
}

/** Parses one calendar object resource: its master VEVENT (the one without RECURRENCE-ID). */
export function parseEvent(ics: string): CalendarEvent {
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(ics));
  } catch (error) {
    throw new InvalidEventError(`not iCalendar: ${(error as Error).message}`);
  }
  const vevent = root.getAllSubcomponents('vevent').find((e) => !e.hasProperty('recurrence-id'));
  if (!vevent) throw new InvalidEventError('no VEVENT without RECURRENCE-ID');
  const uid = text(vevent, 'uid');
  if (!uid) throw new InvalidEventError('VEVENT has no UID');
  const fileZones = new Map(
    root.getAllSubcomponents('vtimezone').map((c) => [String(c.getFirstPropertyValue('tzid')), c] as const),
  );
  const start = readTime(vevent, 'dtstart', fileZones);
  if (!start) throw new InvalidEventError(`VEVENT ${uid} has no DTSTART`);
  let endsAt = readTime(vevent, 'dtend', fileZones)?.at ?? null;
  const duration = vevent.getFirstPropertyValue('duration');
  if (!endsAt && duration instanceof ICAL.Duration) {
    endsAt = new Date(start.at.getTime() + duration.toSeconds() * 1000);
  }
  if (endsAt && endsAt < start.at) endsAt = null;
  const rrule = vevent.getFirstPropertyValue('rrule');
  const modified = vevent.getFirstPropertyValue('last-modified') ?? vevent.getFirstPropertyValue('dtstamp');
  return {
    uid,
    title: text(vevent, 'summary') ?? '(untitled)',
    body: text(vevent, 'description'),
    startsAt: start.at,
    endsAt,
    timeZone: start.zone,
    rrule: rrule instanceof ICAL.Recur ? rrule.toString() : null,
    kind: kindOf(vevent),
    status: statusOf(vevent),
    modifiedAt: modified instanceof ICAL.Time ? modified.toJSDate() : null,
  };
}

function text(c: ICAL.Component, name: string): string | null {
  const v = c.getFirstPropertyValue(name);
  return typeof v === 'string' && v !== '' ? v : null;
}

function kindOf(vevent: ICAL.Component): ContentCalendarItemKind {
  const own = text(vevent, 'x-fleet-kind');
  if (own && (KINDS as string[]).includes(own)) return own as ContentCalendarItemKind;
  const categories = vevent
    .getAllProperties('categories')
    .flatMap((p) => p.getValues())
    .map((v) => String(v).toLowerCase());
  if (categories.includes('post')) return 'post';
  if (categories.includes('email_send')) return 'email_send';
  return 'campaign';
}

function statusOf(vevent: ICAL.Component): ContentCalendarItemStatus {
  const own = text(vevent, 'x-fleet-status');
  if (own && (STATUSES as string[]).includes(own)) return own as ContentCalendarItemStatus;
  const status = text(vevent, 'status')?.toUpperCase();
  if (status === 'CONFIRMED') return 'scheduled';
  if (status === 'CANCELLED') return 'cancelled';
  return 'draft';
}

/** A DATE or DATE-TIME property as an instant plus the IANA zone it was written in (if any). */
function readTime(
  vevent: ICAL.Component,
  name: string,
  fileZones: Map<string, ICAL.Component>,
): { at: Date; zone: string | null } | null {
  const prop = vevent.getFirstProperty(name);
  const value = prop?.getFirstValue();
  if (!prop || !(value instanceof ICAL.Time)) return null;
  const tzid = prop.getParameter('tzid');
  const fields = {
    year: value.year,
    month: value.month,
    day: value.day,
    hour: value.isDate ? 0 : value.hour,
    minute: value.isDate ? 0 : value.minute,
    second: value.isDate ? 0 : value.second,
    isDate: false,
  };
  if (typeof tzid === 'string' && tzid !== '') {
    if (isIanaZone(tzid)) return { at: ICAL.Time.fromData(fields, ianaZone(tzid)).toJSDate(), zone: tzid };
    const own = fileZones.get(tzid);
    if (own) return { at: ICAL.Time.fromData(fields, new ICAL.Timezone(own)).toJSDate(), zone: null };
    throw new InvalidEventError(
      `${name.toUpperCase()} names time zone ${tzid}, which is neither IANA nor defined in the file`,
    );
  }
  // UTC ("Z") or floating: floating times have no zone of their own; read them as UTC.
  return { at: ICAL.Time.fromData(fields, ICAL.Timezone.utcTimezone).toJSDate(), zone: null };
}

/** The item as a calendar object resource (one VCALENDAR with its VTIMEZONE and VEVENT). */
export function buildEvent(event: Omit<CalendarEvent, 'modifiedAt'> & { modifiedAt: Date }): string {
  const root = new ICAL.Component(['vcalendar', [], []]);
  root.addPropertyWithValue('version', '2.0');
  root.addPropertyWithValue('prodid', PRODID);
  const zone = event.timeZone && isIanaZone(event.timeZone) ? event.timeZone : null;
  if (zone) root.addSubcomponent(new ICAL.Component(ICAL.parse((tzlib_get_ical_block(zone) as string[])[0]!)));
  const vevent = new ICAL.Component('vevent');
  vevent.addPropertyWithValue('uid', event.uid);
  vevent.addPropertyWithValue('dtstamp', ICAL.Time.fromJSDate(event.modifiedAt, true));
  vevent.addPropertyWithValue('last-modified', ICAL.Time.fromJSDate(event.modifiedAt, true));
  writeTime(vevent, 'dtstart', event.startsAt, zone);
  if (event.endsAt) writeTime(vevent, 'dtend', event.endsAt, zone);
  if (event.rrule) vevent.addPropertyWithValue('rrule', ICAL.Recur.fromString(event.rrule));
  vevent.addPropertyWithValue('summary', event.title);
  if (event.body) vevent.addPropertyWithValue('description', event.body);
  vevent.addPropertyWithValue(
    'status',
    event.status === 'cancelled' ? 'CANCELLED' : event.status === 'draft' ? 'TENTATIVE' : 'CONFIRMED',
  );
  vevent.addPropertyWithValue('categories', event.kind);
  vevent.addPropertyWithValue('x-fleet-kind', event.kind);
  vevent.addPropertyWithValue('x-fleet-status', event.status);
  root.addSubcomponent(vevent);
  return root.toString();
}

function writeTime(vevent: ICAL.Component, name: string, at: Date, zone: string | null): void {
  const utc = ICAL.Time.fromJSDate(at, true);
  if (!zone) {
    vevent.addPropertyWithValue(name, utc);
    return;
  }
  const local = utc.convertToZone(ianaZone(zone));
  const prop = vevent.addPropertyWithValue(name, local);
  prop.setParameter('tzid', zone);
}

/** Whether `rrule` is an RRULE value ical.js can read (checked before it is stored or sent). */
export function isValidRrule(rrule: string): boolean {
  try {
    const recur = ICAL.Recur.fromString(rrule);
    return Boolean(recur.freq);
  } catch {
    return false;
  }
}
