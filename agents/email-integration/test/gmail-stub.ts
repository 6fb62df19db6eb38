/**
 * A local Gmail + Google OAuth server speaking the wire format the provider uses: the token
 * endpoint (refresh-token grant), users.getProfile, users.messages.list (after: queries, paging),
 * users.history.list (messageAdded records, 404 for expired ids) and users.messages.get. Faults
 * (429, 403 rate limits, 401s) are injected per path.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GmailMessage } from '../src/gmail/parse-message.ts';

/** What a fault's answer may be computed from: a provider that echoes the request back. */
export interface StubRequestSeen {
  headers: IncomingMessage['headers'];
  query: URLSearchParams;
  body: string;
}

export interface StubFault {
  status: number;
  headers?: Record<string, string>;
  body?: object | string | ((request: StubRequestSeen) => unknown);
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  at: number;
  status: number;
}

interface HistoryRecord {
  id: number;
  messageId: string;
}

export class GmailStub {
  readonly clientId = 'stub-client-id';
  readonly clientSecret: string;
  readonly validRefreshTokens = new Set<string>();
  readonly requests: RecordedRequest[] = [];
  /** Messages by id; order of insertion is arrival order. */
  readonly messages = new Map<string, GmailMessage>();
  private readonly history: HistoryRecord[] = [];
  private historyCounter = 1000;
  /** history ids below this are "expired": history.list answers 404. */
  oldestHistoryId = 0;
  private readonly accessTokens = new Set<string>();
  private tokenCounter = 0;
  /** When true, every access token is refused with 401 (even fresh ones). */
  rejectAllAccessTokens = false;
  private readonly faults: Array<{ match: (path: string) => boolean; fault: StubFault }> = [];
  /** Access tokens handed out and the refresh tokens they came from. */
  readonly issued: string[] = [];
  private server!: Server;
  baseUrl = '';

  /** Refusals of the token endpoint quote the request body back, as a careless proxy might. */
  private readonly echoRefusals: boolean;

  constructor(options: { clientSecret?: string; echoRefusals?: boolean } = {}) {
    this.clientSecret = options.clientSecret ?? 'stub-client-secret';
    this.echoRefusals = options.echoRefusals ?? false;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 500, message: String(error) } }));
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get apiBaseUrl(): string {
    return `${this.baseUrl}/gmail/v1`;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}/token`;
  }

  get currentHistoryId(): string {
    return String(this.historyCounter);
  }

  /** Delivers a message to the mailbox, recording a messageAdded history entry. */
  deliver(message: GmailMessage): void {
    this.historyCounter += 1;
    this.messages.set(message.id!, { ...message, historyId: String(this.historyCounter) });
    this.history.push({ id: this.historyCounter, messageId: message.id! });
  }

  /** The next `times` requests whose path passes `match` get this answer instead. */
  inject(match: string | ((path: string) => boolean), fault: StubFault, times = 1): void {
    const test = typeof match === 'string' ? (p: string) => p.startsWith(match) : match;
    for (let i = 0; i < times; i++) this.faults.push({ match: test, fault });
  }

  /** Forgets every access token issued so far, as if they had expired. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  count(pathPrefix: string, method = 'GET'): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers = {}) {
    const url = new URL(req.url ?? '/', 'http://stub');
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      at: Date.now(),
      status,
    });
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stub');
    const path = url.pathname;
    const faultIndex = this.faults.findIndex((f) => f.match(path));
    if (faultIndex >= 0) {
      const { fault } = this.faults.splice(faultIndex, 1)[0]!;
      let body = fault.body ?? { error: { code: fault.status } };
      if (typeof body === 'function') {
        let raw = '';
        for await (const chunk of req) raw += chunk;
        body = body({ headers: req.headers, query: url.searchParams, body: raw });
      }
      return this.send(req, res, fault.status, body, fault.headers);
    }
    if (path === '/token' && req.method === 'POST') return this.token(req, res);

    const prefix = '/gmail/v1/users/me';
    if (!path.startsWith(prefix)) return this.send(req, res, 404, { error: { code: 404, message: 'Not Found' } });
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (this.rejectAllAccessTokens || !this.accessTokens.has(token)) {
      return this.send(req, res, 401, {
        error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' },
      });
    }
    const rest = path.slice(prefix.length);
    if (rest === '/profile') {
      return this.send(req, res, 200, {
        emailAddress: 'me@acme.test',
        messagesTotal: this.messages.size,
        historyId: this.currentHistoryId,
      });
    }
    if (rest === '/messages') return this.list(req, res, url.searchParams);
    if (rest === '/history') return this.historyList(req, res, url.searchParams);
    const get = /^\/messages\/([^/]+)$/.exec(rest);
    if (get) {
      const message = this.messages.get(decodeURIComponent(get[1]!));
      if (!message)
        return this.send(req, res, 404, { error: { code: 404, message: 'Requested entity was not found.' } });
      return this.send(req, res, 200, message);
    }
    return this.send(req, res, 404, { error: { code: 404, message: 'Not Found' } });
  }

  private async token(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const form = new URLSearchParams(raw);
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      return this.send(req, res, 401, {
        error: 'invalid_client',
        error_description: 'The OAuth client was not found.',
      });
    }
    if (form.get('grant_type') !== 'refresh_token') {
      return this.send(req, res, 400, { error: 'unsupported_grant_type' });
    }
    if (!this.validRefreshTokens.has(form.get('refresh_token') ?? '')) {
      return this.send(req, res, 400, {
        error: 'invalid_grant',
        error_description: this.echoRefusals
          ? `Token ${form.get('refresh_token')} has been expired or revoked. body=${raw}`
          : 'Token has been expired or revoked.',
      });
    }
    // Random, as real ones are: a test may look for them where they must not be.
    const accessToken = `ya29.stub-${++this.tokenCounter}-${randomBytes(12).toString('base64url')}`;
    this.accessTokens.add(accessToken);
    this.issued.push(accessToken);
    return this.send(req, res, 200, {
      access_token: accessToken,
      expires_in: 3599,
      token_type: 'Bearer',
      scope: 'https://www.googleapis.com/auth/gmail.readonly',
    });
  }

  private page<T>(items: T[], params: URLSearchParams, max = 500) {
    const size = Math.min(Number(params.get('maxResults') ?? 100), max);
    const offset = Number(params.get('pageToken') ?? 0);
    const slice = items.slice(offset, offset + size);
    const next = offset + size < items.length ? String(offset + size) : undefined;
    return { slice, next };
  }

  private list(req: IncomingMessage, res: ServerResponse, params: URLSearchParams) {
    const after = /after:(\d+)/.exec(params.get('q') ?? '');
    const afterMs = after ? Number(after[1]) * 1000 : 0;
    // Gmail lists newest first and leaves out spam and trash.
    const all = [...this.messages.values()]
      .filter((m) => Number(m.internalDate ?? 0) > afterMs)
      .filter((m) => !(m.labelIds ?? []).some((l) => l === 'SPAM' || l === 'TRASH'))
      .sort((a, b) => Number(b.internalDate ?? 0) - Number(a.internalDate ?? 0));
    const { slice, next } = this.page(all, params);
    return this.send(req, res, 200, {
      ...(slice.length > 0 ? { messages: slice.map((m) => ({ id: m.id, threadId: m.threadId })) } : {}),
      ...(next ? { nextPageToken: next } : {}),
      resultSizeEstimate: all.length,
    });
  }

  private historyList(req: IncomingMessage, res: ServerResponse, params: URLSearchParams) {
    const start = Number(params.get('startHistoryId'));
    if (!Number.isFinite(start) || start < this.oldestHistoryId) {
      return this.send(req, res, 404, { error: { code: 404, message: 'Requested entity was not found.' } });
    }
    const records = this.history.filter((h) => h.id > start);
    const { slice, next } = this.page(records, params);
    return this.send(req, res, 200, {
      ...(slice.length > 0
        ? {
            history: slice.map((h) => {
              const m = this.messages.get(h.messageId);
              const ref = { id: h.messageId, threadId: m?.threadId, labelIds: m?.labelIds };
              return { id: String(h.id), messages: [ref], messagesAdded: [{ message: ref }] };
            }),
          }
        : {}),
      ...(next ? { nextPageToken: next } : {}),
      historyId: this.currentHistoryId,
    });
  }
}
