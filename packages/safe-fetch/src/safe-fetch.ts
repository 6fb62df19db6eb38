/**
 * Fetching a URL that someone else chose (a payload, a database row) without letting it reach
 * the fleet's own network. Every connection goes through a connector that resolves the host once,
 * judges every address it resolves to (address-rules.ts) and connects to the address it judged,
 * so a name that answers differently the second time (DNS rebinding) cannot slip through.
 * Redirects are followed here, one hop at a time, so each hop is judged the same way and a
 * refusal names the hop.
 */
import tls from 'node:tls';
import { Agent, buildConnector, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import type { Allowlist } from './address-rules.ts';
import { checkedAddress, explainRefusal, type LookupAll, RefusedAddressError } from './checked-host.ts';

export interface SafeFetchOptions {
  /** Host names and CIDRs opened whatever their range; when it has entries, nothing else is. */
  allow?: Allowlist;
  /** The setting that holds the allowlist, named in every refusal (e.g. MEDIA_ALLOWED_HOSTS). */
  allowVariable: string;
  /** Resolver; tests inject one to make a name resolve to a chosen address. */
  lookup?: LookupAll;
  /** Redirects followed before giving up (default 5). */
  maxRedirects?: number;
  /** Time allowed to open one connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Certificate authorities to trust besides the system's (media hosts behind a private CA). */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** A URL refused by the address rules: `rule` names the rule (`loopback`, `private`, `allowlist`, ...). */
export class RefusedUrlError extends Error {
  override name = 'RefusedUrlError';
  constructor(
    message: string,
    readonly rule: string,
  ) {
    super(message);
  }
}

export interface SafeFetchInit {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** GET when omitted. */
  method?: string;
  /**
   * A request body (an API call: a provider's POST). A request with a body follows no redirect:
   * the 3xx answer is returned as it is, since resending a body elsewhere is never what an API
   * call meant.
   */
  body?: RequestInit['body'];
}

export interface SafeFetch {
  /**
   * Requests `url` (GET unless `init.method` says otherwise), every hop's addresses judged before
   * connecting. GET and HEAD without a body follow redirects; other requests (a CalDAV PUT,
   * REPORT, DELETE, a provider's POST) get the redirect response itself, since replaying a write
   * to wherever a server points is the caller's decision.
   */
  fetch(url: string | URL, init?: SafeFetchInit): Promise<Response>;
  /** Closes the connections kept open. */
  close(): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  const maxRedirects = options.maxRedirects ?? 5;
  const connect = buildConnector({
    timeout: options.connectTimeoutMs ?? 10_000,
    ...(options.ca ? { ca: [...tls.rootCertificates, ...[options.ca].flat()] } : {}),
  });

  const agent = new Agent({
    connect(opts, callback) {
      checkedAddress(opts.hostname, options.allow, options.lookup).then(
        // `host` (name:port) stays as it was: TLS still verifies the certificate for the name.
        (address) => connect({ ...opts, hostname: address }, callback),
        (error: Error) => callback(error, null),
      );
    },
  });

  const refused = (url: URL, hop: number, error: RefusedAddressError): RefusedUrlError => {
    const where = hop === 0 ? describe(url) : `${describe(url)} (redirect ${hop})`;
    return new RefusedUrlError(`${where} refused: ${explainRefusal(error, options.allowVariable)}`, error.refusal.rule);
  };

  return {
    async fetch(url, init = {}) {
      let current = new URL(url);
      for (let hop = 0; ; hop++) {
        if (current.protocol !== 'http:' && current.protocol !== 'https:') {
          throw new RefusedUrlError(`${describe(current)} refused: only http and https URLs are fetched`, 'protocol');
        }
        if (current.username || current.password) {
          throw new RefusedUrlError(
            `${describe(current)} refused: URLs with credentials are not fetched`,
            'credentials',
          );
        }
        let res: Response;
        try {
          res = await undiciFetch(current, {
            signal: init.signal,
            method: init.method,
            // A form must be undici's FormData (`import { FormData } from 'undici'`): this undici
            // does not serialise the global one, which belongs to the undici bundled with Node.
            body: init.body,
            // Headers are meant for the origin they were given for, not for wherever it redirects.
            headers: hop === 0 ? init.headers : undefined,
            redirect: 'manual',
            dispatcher: agent,
          });
        } catch (error) {
          const cause = (error as { cause?: unknown }).cause;
          if (cause instanceof RefusedAddressError) throw refused(current, hop, cause);
          throw error;
        }
        const follows = (init.method === undefined || /^(GET|HEAD)$/i.test(init.method)) && init.body === undefined;
        const location = follows && REDIRECTS.has(res.status) ? res.headers.get('location') : null;
        if (location === null) return res;
        await res.body?.cancel().catch(() => {});
        if (hop >= maxRedirects) {
          throw new RefusedUrlError(`${describe(current)} refused: more than ${maxRedirects} redirects`, 'redirects');
        }
        current = new URL(location, current);
      }
    },
    close: () => agent.close(),
  };
}

/** A URL for messages: no credentials, no query string (signed URLs carry secrets there). */
export function describe(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
