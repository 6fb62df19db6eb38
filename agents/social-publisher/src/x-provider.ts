/**
 * X's API v2 with an OAuth 2.0 user token: POST /2/media/upload (multipart), POST /2/tweets, and
 * GET /2/users/:id/tweets to find a post an uncertain attempt created. X takes no idempotency key,
 * so that search is what keeps a retry from posting twice; X also refuses an identical text
 * posted again (403 "duplicate content"), which is answered by the same search.
 */
import { PermanentError } from '@fleet/runtime';
import { FormData } from 'undici';
import { X_RULES } from './platform-rules.ts';
import {
  type AccountCredentials,
  type MediaFile,
  type PublishedPost,
  RejectedError,
  type SocialProvider,
} from './provider.ts';
import { sameText } from './same-text.ts';
import { type ApiAnswer, answerExcerpt, apiCall, type HttpDeps, json } from './social-http.ts';

function endpoint(account: AccountCredentials, path: string): string {
  return new URL(path, account.baseUrl.endsWith('/') ? account.baseUrl : `${account.baseUrl}/`).toString();
}

function refusal(what: string, answer: ApiAnswer, token: string): Error {
  const detail = `${what}: X answered ${answer.status}: ${answerExcerpt(answer, token)}`;
  if (answer.status === 401)
    return new PermanentError(`${detail}; reconnect the account (its access token was refused)`);
  return new RejectedError(detail, answer.status);
}

function isDuplicate(answer: ApiAnswer): boolean {
  return answer.status === 403 && /duplicate/i.test(answer.text);
}

export class XProvider implements SocialProvider {
  readonly platform = 'x' as const;
  readonly rules = X_RULES;
  constructor(private readonly options: HttpDeps) {}

  async uploadMedia(account: AccountCredentials, file: MediaFile, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('media', new Blob([file.bytes], { type: file.mimeType }), file.fileName);
    form.append('media_category', file.mimeType === 'image/gif' ? 'tweet_gif' : 'tweet_image');
    form.append('media_type', file.mimeType);
    const what = `X media upload (${file.fileName})`;
    const answer = await apiCall(
      this.options,
      what,
      endpoint(account, '2/media/upload'),
      account.accessToken,
      { method: 'POST', body: form },
      signal,
    );
    if (answer.status !== 200 && answer.status !== 201) throw refusal(what, answer, account.accessToken);
    const id = json<{ data?: { id?: string } }>(what, answer).data?.id;
    if (!id) throw new Error(`${what}: the answer names no media id`);
    if (file.altText) {
      const alt = await apiCall(
        this.options,
        `X media alt text (${file.fileName})`,
        endpoint(account, '2/media/metadata'),
        account.accessToken,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, metadata: { alt_text: { text: file.altText } } }),
        },
        signal,
      );
      if (alt.status >= 300) throw refusal(`X media alt text (${file.fileName})`, alt, account.accessToken);
    }
    return id;
  }

  async createPost(
    account: AccountCredentials,
    post: { text: string; mediaIds: string[]; idempotencyKey: string; since: Date },
    signal: AbortSignal,
  ): Promise<PublishedPost> {
    const what = 'X post';
    const answer = await apiCall(
      this.options,
      what,
      endpoint(account, '2/tweets'),
      account.accessToken,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          text: post.text,
          ...(post.mediaIds.length ? { media: { media_ids: post.mediaIds } } : {}),
        }),
      },
      signal,
    );
    if (isDuplicate(answer)) {
      // The same text is already on the account: ours from an earlier attempt, if it is recent.
      const found = await this.findPublished(account, { text: post.text, since: post.since }, signal);
      if (found) return found;
    }
    if (answer.status !== 201 && answer.status !== 200) throw refusal(what, answer, account.accessToken);
    const id = json<{ data?: { id?: string } }>(what, answer).data?.id;
    if (!id) throw new Error(`${what}: the answer names no post id`);
    return { postId: id, url: this.postUrl(account, id) };
  }

  async findPublished(
    account: AccountCredentials,
    post: { text: string; since: Date },
    signal: AbortSignal,
  ): Promise<PublishedPost | null> {
    const what = 'X own posts';
    let userId = account.platformUserId;
    if (!userId) {
      const me = await apiCall(this.options, what, endpoint(account, '2/users/me'), account.accessToken, {}, signal);
      if (me.status !== 200) throw refusal(what, me, account.accessToken);
      userId = json<{ data: { id: string } }>(what, me).data.id;
    }
    // A minute of slack: the server's clock and ours may differ.
    const since = new Date(post.since.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const query = new URLSearchParams({ max_results: '20', start_time: since, 'tweet.fields': 'created_at' });
    const answer = await apiCall(
      this.options,
      what,
      endpoint(account, `2/users/${encodeURIComponent(userId)}/tweets?${query}`),
      account.accessToken,
      {},
      signal,
    );
    if (answer.status !== 200) throw refusal(what, answer, account.accessToken);
    const found = (json<{ data?: Array<{ id: string; text: string }> }>(what, answer).data ?? []).find((t) =>
      sameText(t.text, post.text),
    );
    return found ? { postId: found.id, url: this.postUrl(account, found.id) } : null;
  }

  private postUrl(account: AccountCredentials, id: string): string {
    return `https://x.com/${encodeURIComponent(account.handle)}/status/${encodeURIComponent(id)}`;
  }
}
