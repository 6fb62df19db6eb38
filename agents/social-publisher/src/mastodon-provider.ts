/**
 * Mastodon's REST API (any instance): POST /api/v2/media, GET /api/v1/media/:id while an upload
 * is processed, POST /api/v1/statuses with an Idempotency-Key header (the server answers a repeat
 * of the key with the status it created the first time, for an hour), and the account's own
 * statuses to find a post an uncertain attempt created after that hour.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError } from '@fleet/runtime';
import { FormData } from 'undici';
import { MASTODON_RULES } from './platform-rules.ts';
import {
  type AccountCredentials,
  type MediaFile,
  type PublishedPost,
  RejectedError,
  type SocialProvider,
} from './provider.ts';
import { htmlToText, sameText } from './same-text.ts';
import { type ApiAnswer, answerExcerpt, apiCall, type HttpDeps, json } from './social-http.ts';

interface Status {
  id: string;
  url: string | null;
  uri: string;
  content: string;
  created_at: string;
}

export interface MastodonOptions extends HttpDeps {
  /** Waits between checks of an upload the server is still processing (202), and how many. */
  processingPollMs?: number;
  processingPolls?: number;
}

function endpoint(account: AccountCredentials, path: string): string {
  return new URL(path, account.baseUrl.endsWith('/') ? account.baseUrl : `${account.baseUrl}/`).toString();
}

/** 401/403: the token no longer works; 413/422 and other 4xx: the content is refused. */
function refusal(what: string, answer: ApiAnswer, token: string): Error {
  const detail = `${what}: Mastodon answered ${answer.status}: ${answerExcerpt(answer, token)}`;
  if (answer.status === 401 || answer.status === 403) {
    return new PermanentError(`${detail}; reconnect the account (its access token was refused)`);
  }
  return new RejectedError(detail, answer.status);
}

export class MastodonProvider implements SocialProvider {
  readonly platform = 'mastodon' as const;
  readonly rules = MASTODON_RULES;
  constructor(private readonly options: MastodonOptions) {}

  async uploadMedia(account: AccountCredentials, file: MediaFile, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([file.bytes], { type: file.mimeType }), file.fileName);
    if (file.altText) form.append('description', file.altText);
    const what = `Mastodon media upload (${file.fileName})`;
    const answer = await apiCall(
      this.options,
      what,
      endpoint(account, 'api/v2/media'),
      account.accessToken,
      { method: 'POST', body: form },
      signal,
    );
    if (answer.status !== 200 && answer.status !== 202) throw refusal(what, answer, account.accessToken);
    const media = json<{ id: string; url: string | null }>(what, answer);
    // 202: accepted, still processing; a status may attach it only once it has a URL.
    for (let poll = 0; answer.status === 202 && media.url === null; poll++) {
      if (poll >= (this.options.processingPolls ?? 30)) {
        throw new Error(`${what}: still processing after ${poll} checks`);
      }
      await sleep(this.options.processingPollMs ?? 1_000, undefined, { signal });
      const check = await apiCall(
        this.options,
        what,
        endpoint(account, `api/v1/media/${encodeURIComponent(media.id)}`),
        account.accessToken,
        {},
        signal,
      );
      if (check.status === 200) break;
      if (check.status !== 206) throw refusal(what, check, account.accessToken);
    }
    return media.id;
  }

  async createPost(
    account: AccountCredentials,
    post: { text: string; mediaIds: string[]; idempotencyKey: string; since: Date },
    signal: AbortSignal,
  ): Promise<PublishedPost> {
    const what = 'Mastodon status';
    const answer = await apiCall(
      this.options,
      what,
      endpoint(account, 'api/v1/statuses'),
      account.accessToken,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': post.idempotencyKey },
        body: JSON.stringify({ status: post.text, media_ids: post.mediaIds, visibility: 'public' }),
      },
      signal,
    );
    if (answer.status !== 200) throw refusal(what, answer, account.accessToken);
    const status = json<Status>(what, answer);
    return { postId: status.id, url: status.url ?? status.uri };
  }

  async findPublished(
    account: AccountCredentials,
    post: { text: string; since: Date },
    signal: AbortSignal,
  ): Promise<PublishedPost | null> {
    const what = 'Mastodon own statuses';
    let accountId = account.platformUserId;
    if (!accountId) {
      const me = await apiCall(
        this.options,
        what,
        endpoint(account, 'api/v1/accounts/verify_credentials'),
        account.accessToken,
        {},
        signal,
      );
      if (me.status !== 200) throw refusal(what, me, account.accessToken);
      accountId = json<{ id: string }>(what, me).id;
    }
    const answer = await apiCall(
      this.options,
      what,
      endpoint(account, `api/v1/accounts/${encodeURIComponent(accountId)}/statuses?limit=40&exclude_replies=true`),
      account.accessToken,
      {},
      signal,
    );
    if (answer.status !== 200) throw refusal(what, answer, account.accessToken);
    // A minute of slack: the server's clock and ours may differ.
    const since = post.since.getTime() - 60_000;
    const found = json<Status[]>(what, answer).find(
      (s) => Date.parse(s.created_at) >= since && sameText(htmlToText(s.content), post.text),
    );
    return found ? { postId: found.id, url: found.url ?? found.uri } : null;
  }
}
