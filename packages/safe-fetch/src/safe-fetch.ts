/**
 * Fetching a URL that someone else chose (a payload, a database row) without letting it reach
 * the fleet's own network. Every connection goes through a connector that resolves the host once,
 * judges every address it resolves to (address-rules.ts) and connects to the address it judged,
 * so a name that answers differently the second time (DNS rebinding) cannot slip through.
 * Redirects are followed here, one hop at a time, so each hop is judged the same way and a
 * refusal names the hop.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import { type Allowlist, judgeAddress, type Refusal } from './address-rules.ts';

/** Resolves a host name to every address it has (dns.lookup with `all: true` by default). */
export type LookupAll = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

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
  /** Requests `url` (GET unless `init.method` says otherwise); every hop's addresses are judged before connecting. */
  fetch(url: string | URL, init?: SafeFetchInit): Promise<Response>;
  /** Closes the connections kept open. */
  close(): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true });

/** Refused at connect time; carries the host so the fetch can name the URL. */
class RefusedAddress extends Error {
  constructor(
    readonly host: string,
    readonly refusal: Refusal,
  ) {
    super(`${host}: ${refusal.address} is ${refusal.words}`);
  }
}

export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  const lookup = options.lookup ?? defaultLookup;
  const maxRedirects = options.maxRedirects ?? 5;
  const connect = buildConnector({
    timeout: options.connectTimeoutMs ?? 10_000,
    ...(options.ca ? { ca: [...tls.rootCertificates, ...[options.ca].flat()] } : {}),
  });

  /** The address to connect to: the first the host resolves to, once every one has been judged. */
  async function checkedAddress(host: string): Promise<string> {
    const addresses = isIP(host) ? [host] : (await lookup(host)).map((a) => a.address);
    if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
    for (const address of addresses) {
      const refusal = judgeAddress(host, address, options.allow);
      if (refusal) throw new RefusedAddress(host, refusal);
    }
    return addresses[0]!;
  }

  const agent = new Agent({
    connect(opts, callback) {
      checkedAddress(opts.hostname).then(
        // `host` (name:port) stays as it was: TLS still verifies the certificate for the name.
        (address) => connect({ ...opts, hostname: address }, callback),
        (error: Error) => callback(error, null),
      );
    },
  });

  const refused = (url: URL, hop: number, { host, refusal }: RefusedAddress): RefusedUrlError => {
    const where = hop === 0 ? describe(url) : `${describe(url)} (redirect ${hop})`;
    const literal = isIP(host) !== 0;
    const what =
      refusal.rule === 'allowlist'
        ? literal
          ? `${refusal.address} is not in ${options.allowVariable}`
          : `${host} is not in ${options.allowVariable} and its address ${refusal.address} is in none of its CIDRs`
        : literal
          ? `${refusal.address} is ${refusal.words}`
          : `${host} resolves to ${refusal.address}, ${refusal.words}`;
    const fix =
      refusal.rule === 'allowlist'
        ? `add the host, or a CIDR of its address, to ${options.allowVariable} to open it`
        : `${options.allowVariable} opens the host names and CIDRs it lists (and then only those)`;
    return new RefusedUrlError(`${where} refused: ${what} (rule: ${refusal.rule}); ${fix}`, refusal.rule);
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
          if (cause instanceof RefusedAddress) throw refused(current, hop, cause);
          throw error;
        }
        const location = REDIRECTS.has(res.status) && init.body === undefined ? res.headers.get('location') : null;
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
