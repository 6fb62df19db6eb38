/**
 * MailProvider over Gmail's REST API (v1): users.getProfile, users.messages.list,
 * users.history.list and users.messages.get, authorised by the refresh-token grant.
 */
import {
  type AccountAccess,
  type CallOptions,
  CursorExpiredError,
  type FetchedMessages,
  type IdPage,
  MailAuthError,
  type MailProvider,
  type MailSession,
  type MessageFailure,
  type ParsedEmail,
} from '../provider.ts';
import { DEFAULT_RETRY_POLICY, GoogleApiError, googleErrorInfo, type RetryPolicy, requestWithRetry } from './http.ts';
import { type AccessToken, type OAuthClient, refreshAccessToken } from './oauth.ts';
import { type GmailMessage, MessageParseError, parseGmailMessage } from './parse-message.ts';

export interface GmailProviderConfig extends OAuthClient {
  /** e.g. https://gmail.googleapis.com/gmail/v1 (paths /users/me/... are appended). */
  apiBaseUrl: string;
  /** maxResults of list calls (Gmail allows up to 500). */
  pageSize?: number;
  /** messages.get calls in flight at once. */
  fetchConcurrency?: number;
  retry?: Partial<RetryPolicy>;
}

/** Labels whose messages are not correspondence. */
const SKIPPED_LABELS = new Set(['DRAFT', 'SPAM', 'TRASH']);

export class GmailHttpProvider implements MailProvider {
  readonly name = 'gmail';
  private readonly policy: RetryPolicy;

  constructor(private readonly config: GmailProviderConfig) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...config.retry };
  }

  async openSession(account: AccountAccess, opts: CallOptions = {}): Promise<MailSession> {
    const register = opts.registerSecret ?? (() => {});
    const token = await refreshAccessToken(this.config, account.secret, this.policy, opts.signal);
    register(token.token);
    return new GmailSession(this.config, this.policy, account.secret, token, register);
  }
}

class GmailSession implements MailSession {
  private readonly base: string;
  private readonly pageSize: number;
  private readonly concurrency: number;

  constructor(
    private readonly config: GmailProviderConfig,
    private readonly policy: RetryPolicy,
    private readonly refreshToken: string,
    private token: AccessToken,
    /** Every access token this session obtains is a secret for the rest of the job. */
    private readonly registerSecret: (value: string) => void,
  ) {
    this.base = `${config.apiBaseUrl.replace(/\/+$/, '')}/users/me`;
    this.pageSize = Math.min(Math.max(config.pageSize ?? 100, 1), 500);
    this.concurrency = Math.max(config.fetchConcurrency ?? 8, 1);
  }

  private refreshing: Promise<void> | null = null;

  /**
   * Replaces the access token unless another request already did since `stale` was handed out:
   * concurrent fetches that all hit a 401 share one refresh.
   */
  private async refresh(stale: AccessToken, signal?: AbortSignal): Promise<void> {
    if (this.token !== stale) return;
    this.refreshing ??= refreshAccessToken(this.config, this.refreshToken, this.policy, signal)
      .then((token) => {
        this.registerSecret(token.token);
        this.token = token;
      })
      .finally(() => {
        this.refreshing = null;
      });
    await this.refreshing;
  }

  /**
   * GET a Gmail resource. An expired token is refreshed before the call; a 401 answer (the token
   * was revoked or expired early) gets one refresh and one retry, and a second 401 is final.
   */
  private async get<T>(what: string, path: string, query: Record<string, string | undefined>, signal?: AbortSignal) {
    const url = new URL(`${this.base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    if (Date.now() >= this.token.expiresAt) await this.refresh(this.token, signal);
    for (let refreshed = false; ; refreshed = true) {
      const used = this.token;
      const result = await requestWithRetry(
        `Gmail ${what}`,
        url.toString(),
        { headers: { authorization: `Bearer ${used.token}`, accept: 'application/json' } },
        this.policy,
        signal,
      );
      if (result.status === 401) {
        if (refreshed) {
          throw new MailAuthError(
            `Gmail ${what}: a freshly refreshed access token was rejected (401); check the account's granted scopes or reconnect it`,
          );
        }
        await this.refresh(used, signal);
        continue;
      }
      if (result.status >= 400) {
        const { reason, message } = googleErrorInfo(result.text, [used.token]);
        const detail = `${result.status}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`;
        if (result.status === 403) throw new MailAuthError(`Gmail ${what}: access denied (${detail})`);
        throw new GoogleApiError(`Gmail ${what} failed (${detail})`, result.status, reason);
      }
      try {
        return JSON.parse(result.text) as T;
      } catch {
        throw new Error(`Gmail ${what}: the answer is not JSON`);
      }
    }
  }

  async currentCursor(opts: CallOptions = {}): Promise<string> {
    const profile = await this.get<{ historyId?: string }>('users.getProfile', '/profile', {}, opts.signal);
    if (!profile.historyId) throw new Error('Gmail users.getProfile: the answer has no historyId');
    return String(profile.historyId);
  }

  async listMessages(since: Date | null, pageToken: string | null, opts: CallOptions = {}): Promise<IdPage> {
    const page = await this.get<{ messages?: Array<{ id?: string }>; nextPageToken?: string }>(
      'users.messages.list',
      '/messages',
      {
        maxResults: String(this.pageSize),
        // Gmail's search takes epoch seconds for after:, which keeps the instant time-zone free.
        q: since ? `after:${Math.floor(since.getTime() / 1000)}` : undefined,
        pageToken: pageToken ?? undefined,
      },
      opts.signal,
    );
    const ids = (page.messages ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
    return { messageIds: [...new Set(ids)], nextPageToken: page.nextPageToken ?? null };
  }

  async listChangesSince(
    cursor: string,
    pageToken: string | null,
    opts: CallOptions = {},
  ): Promise<IdPage & { cursor: string }> {
    type History = {
      history?: Array<{ messagesAdded?: Array<{ message?: { id?: string; labelIds?: string[] } }> }>;
      nextPageToken?: string;
      historyId?: string;
    };
    let page: History;
    try {
      page = await this.get<History>(
        'users.history.list',
        '/history',
        {
          startHistoryId: cursor,
          historyTypes: 'messageAdded',
          maxResults: String(this.pageSize),
          pageToken: pageToken ?? undefined,
        },
        opts.signal,
      );
    } catch (error) {
      // Gmail answers 404 when startHistoryId is older than the history it keeps (about a week).
      if (error instanceof GoogleApiError && error.status === 404) {
        throw new CursorExpiredError(`Gmail history id ${cursor} has expired`);
      }
      throw error;
    }
    const ids = new Set<string>();
    for (const record of page.history ?? []) {
      for (const added of record.messagesAdded ?? []) {
        const m = added.message;
        if (m?.id && !(m.labelIds ?? []).some((l) => SKIPPED_LABELS.has(l))) ids.add(m.id);
      }
    }
    return {
      messageIds: [...ids],
      nextPageToken: page.nextPageToken ?? null,
      cursor: String(page.historyId ?? cursor),
    };
  }

  async getMessages(ids: string[], opts: CallOptions = {}): Promise<FetchedMessages> {
    const emails: ParsedEmail[] = [];
    const failures: MessageFailure[] = [];
    const gone: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        let message: GmailMessage;
        try {
          message = await this.get<GmailMessage>(
            'users.messages.get',
            `/messages/${encodeURIComponent(id)}`,
            { format: 'full' },
            opts.signal,
          );
        } catch (error) {
          if (error instanceof GoogleApiError && error.status === 404) {
            gone.push(id);
            continue;
          }
          throw error;
        }
        if ((message.labelIds ?? []).some((l) => SKIPPED_LABELS.has(l))) continue;
        try {
          emails.push(parseGmailMessage(message, { log: opts.log }));
        } catch (error) {
          // A library choking on odd content is as much a bad message as a MessageParseError.
          const reason = error instanceof MessageParseError ? error.message : `unparseable: ${String(error)}`;
          failures.push({ id, reason });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    // Keep the provider's order regardless of which fetch finished first.
    const order = new Map(ids.map((id, i) => [id, i]));
    emails.sort((a, b) => order.get(a.providerMessageId)! - order.get(b.providerMessageId)!);
    return { emails, failures, gone };
  }
}
