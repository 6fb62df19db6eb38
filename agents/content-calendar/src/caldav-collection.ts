/**
 * One CalDAV calendar collection, spoken to with tsdav's request helpers over a fetch that goes
 * through @fleet/safe-fetch (the collection URL comes from a row, so every address it resolves
 * to is judged, every request). What the sync needs and nothing more:
 * - `changesSince(token)`: RFC 6578 sync-collection; an expired or unknown token is
 *   SyncTokenInvalidError (403/409 with DAV:valid-sync-token, or any 403/409 to a token);
 * - `list()`: every member's href and ETag with a Depth 1 PROPFIND, plus the collection's
 *   sync-token and getctag (the full sync, and the ETag fallback of servers without RFC 6578);
 * - `get(hrefs)`: calendar-multiget of the calendar data;
 * - `create`/`update`/`remove`: PUT with If-None-Match: * / If-Match, DELETE with If-Match, so a
 *   change made on the calendar since it was read is never overwritten (PreconditionFailedError).
 */
import type { SafeFetch } from '@fleet/safe-fetch';
import {
  calendarMultiGet,
  createObject,
  type DAVResponse,
  deleteObject,
  propfind,
  syncCollection,
  updateObject,
} from 'tsdav';

/** A member of the collection: its href (the URL's path) and ETag. */
export interface Member {
  href: string;
  etag: string | null;
}

export interface CalendarResource extends Member {
  data: string;
}

/** The server no longer accepts the sync token: the caller must sync in full. */
export class SyncTokenInvalidError extends Error {
  override name = 'SyncTokenInvalidError';
}

/** If-Match / If-None-Match failed: the resource changed (or appeared) on the calendar meanwhile. */
export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
}

/** The server answered with an error; `status` is its HTTP status. */
export class CalDavError extends Error {
  override name = 'CalDavError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface CollectionOptions {
  /** The collection's URL (ends with a slash; one is added if missing). */
  url: string;
  username: string | null;
  password: string | null;
  http: SafeFetch;
  /** Cap on one request. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface CalDavCollection {
  readonly url: string;
  changesSince(token: string): Promise<{ changed: Member[]; deleted: string[]; syncToken: string }>;
  list(): Promise<{ members: Member[]; syncToken: string | null; ctag: string | null }>;
  get(hrefs: string[]): Promise<CalendarResource[]>;
  create(name: string, ics: string): Promise<Member>;
  update(href: string, ics: string, etag: string | null): Promise<Member>;
  remove(href: string, etag: string | null): Promise<void>;
}

/** Multiget batches: big enough to be few requests, small enough for any server's body limit. */
const MULTIGET_BATCH = 100;

export function openCollection(options: CollectionOptions): CalDavCollection {
  const url = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const auth: Record<string, string> =
    options.username !== null || options.password !== null
      ? {
          authorization: `Basic ${Buffer.from(`${options.username ?? ''}:${options.password ?? ''}`).toString('base64')}`,
        }
      : {};
  // tsdav calls this like the global fetch; it goes through the guarded connector instead.
  const fetch = (async (input: string | URL, init: RequestInit = {}) => {
    const headers = Object.fromEntries(new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).entries());
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)])
      : AbortSignal.timeout(options.timeoutMs);
    return options.http.fetch(String(input), {
      method: init.method,
      body: typeof init.body === 'string' ? init.body : undefined,
      headers: { ...headers, ...auth },
      signal,
    });
  }) as unknown as typeof globalThis.fetch;
  const absolute = (href: string) => new URL(href, url).toString();

  const failed = (what: string, r: { status?: number; statusText?: string }) =>
    new CalDavError(`${what} ${describe(url)}: HTTP ${r.status ?? '?'} ${r.statusText ?? ''}`.trim(), r.status ?? 0);

  return {
    url,
    async changesSince(token) {
      const responses = await syncCollection({
        url,
        props: { 'd:getetag': {} },
        syncLevel: 1,
        syncToken: token,
        fetch,
      });
      const first = responses[0];
      const raw = first?.raw as { multistatus?: { syncToken?: unknown } } | string | undefined;
      if (first && requestFailed(responses)) {
        const body = typeof raw === 'string' ? raw : JSON.stringify(raw ?? '');
        if (first.status === 403 || first.status === 409 || /valid-sync-token/i.test(body)) {
          throw new SyncTokenInvalidError(`${describe(url)} refused the sync token (HTTP ${first.status})`);
        }
        throw failed('sync-collection on', first);
      }
      const syncToken = typeof raw === 'object' ? raw?.multistatus?.syncToken : undefined;
      if (typeof syncToken !== 'string') throw new CalDavError(`${describe(url)} sent no sync-token`, 0);
      const changed: Member[] = [];
      const deleted: string[] = [];
      for (const r of members(responses, url)) {
        if (r.status === 404) deleted.push(r.href);
        else if (r.ok) changed.push({ href: r.href, etag: r.etag });
      }
      return { changed, deleted, syncToken };
    },

    async list() {
      const responses = await propfind({
        url,
        props: { 'd:getetag': {}, 'd:sync-token': {}, 'cs:getctag': {}, 'd:resourcetype': {} },
        depth: '1',
        fetch,
      });
      if (requestFailed(responses)) {
        throw failed('PROPFIND', responses[0]!);
      }
      let syncToken: string | null = null;
      let ctag: string | null = null;
      const found: Member[] = [];
      for (const r of responses) {
        if (!r.href) continue;
        if (sameCollection(absolute(r.href), url)) {
          syncToken = stringOrNull(r.props?.syncToken);
          ctag = stringOrNull(r.props?.getctag);
          continue;
        }
        if (!r.ok || r.props?.resourcetype?.collection !== undefined) continue;
        found.push({ href: pathOf(r.href, url), etag: stringOrNull(r.props?.getetag) });
      }
      return { members: found, syncToken, ctag };
    },

    async get(hrefs) {
      const out: CalendarResource[] = [];
      for (let i = 0; i < hrefs.length; i += MULTIGET_BATCH) {
        const responses = await calendarMultiGet({
          url,
          props: { 'd:getetag': {}, 'c:calendar-data': {} },
          objectUrls: hrefs.slice(i, i + MULTIGET_BATCH),
          depth: '1',
          fetch,
        });
        for (const r of responses) {
          if (!r.href || !r.ok) continue;
          const data = r.props?.calendarData;
          const text = typeof data === 'string' ? data : typeof data?._cdata === 'string' ? data._cdata : null;
          if (text !== null) out.push({ href: pathOf(r.href, url), etag: stringOrNull(r.props?.getetag), data: text });
        }
      }
      return out;
    },

    async create(name, ics) {
      const target = new URL(encodeURIComponent(name), url);
      const res = await createObject({
        url: target.toString(),
        data: ics,
        headers: { 'content-type': 'text/calendar; charset=utf-8', 'if-none-match': '*' },
        fetch,
      });
      await res.body?.cancel().catch(() => {});
      if (res.status === 412) throw new PreconditionFailedError(`${describe(target.toString())} already exists`);
      if (!res.ok) throw failed('PUT', res);
      return { href: target.pathname, etag: res.headers.get('etag') };
    },

    async update(href, ics, etag) {
      const res = await updateObject({
        url: absolute(href),
        data: ics,
        etag: etag ?? undefined,
        headers: { 'content-type': 'text/calendar; charset=utf-8' },
        fetch,
      });
      await res.body?.cancel().catch(() => {});
      if (res.status === 412) throw new PreconditionFailedError(`${href} changed on the calendar since it was read`);
      if (!res.ok) throw failed('PUT', res);
      return { href, etag: res.headers.get('etag') };
    },

    async remove(href, etag) {
      const res = await deleteObject({ url: absolute(href), etag: etag ?? undefined, fetch });
      await res.body?.cancel().catch(() => {});
      if (res.status === 412) throw new PreconditionFailedError(`${href} changed on the calendar since it was read`);
      if (res.status === 404 || res.status === 410) return;
      if (!res.ok) throw failed('DELETE', res);
    },
  };
}

/** tsdav answers a failed request (not a multistatus) with one entry without props. */
function requestFailed(responses: DAVResponse[]): boolean {
  return responses.length === 1 && !responses[0]!.ok && responses[0]!.props === undefined;
}

/** The member responses of a multistatus (the collection itself left out). */
function members(
  responses: DAVResponse[],
  collection: string,
): Array<{ href: string; status: number; ok: boolean; etag: string | null }> {
  return responses
    .filter((r): r is DAVResponse & { href: string } => typeof r.href === 'string')
    .filter((r) => !sameCollection(new URL(r.href, collection).toString(), collection))
    .map((r) => ({
      href: pathOf(r.href, collection),
      status: r.status ?? 0,
      ok: Boolean(r.ok),
      etag: stringOrNull(r.props?.getetag),
    }));
}

/** Hrefs are kept as the path the server names them by, however it wrote them (absolute or not). */
function pathOf(href: string, base: string): string {
  return new URL(href, base).pathname;
}

function sameCollection(a: string, b: string): boolean {
  const strip = (u: string) => decodeURIComponent(new URL(u).pathname).replace(/\/+$/, '');
  return strip(a) === strip(b);
}

function stringOrNull(value: unknown): string | null {
  // tsdav turns numeric-looking text into numbers; ETags and tokens are opaque strings.
  if (value === undefined || value === null || value === '') return null;
  return typeof value === 'object' ? null : String(value);
}

/** A URL for messages: no credentials, no query string. */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
