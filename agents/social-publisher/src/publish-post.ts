/**
 * Publishing one claimed post, idempotently:
 *  1. the text and media list are checked against the platform's rules (rejected: nothing sent);
 *  2. if a create was sent by an earlier attempt (create_sent_at), the account's own recent posts
 *     are searched for it; found, its id is stored and nothing is posted;
 *  3. the images are fetched, checked (type, size) and uploaded;
 *  4. create_sent_at is committed, then the post is created with the post's idempotency key;
 *  5. the platform's id is stored in the statement that marks the post published, before the
 *     handler returns, so the job is never acknowledged without it.
 * A timeout in step 4 leaves create_sent_at set: the retry's step 2 finds the post (X, and
 * Mastodon after its key expired) or the platform answers the repeated key with it (Mastodon).
 */
import { decryptToken } from '@fleet/agent-email-integration/token-crypto';
import type { Database } from '@fleet/db';
import type { SafeFetch } from '@fleet/safe-fetch';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { fetchMedia, MediaError } from './media-fetch.ts';
import { mediaProblems, postProblems } from './platform-rules.ts';
import { type AccountCredentials, RejectedError, type SocialProvider } from './provider.ts';
import {
  loadAccount,
  markCreateSent,
  markPublished,
  markRejected,
  type SocialAccount,
  type SocialPost,
} from './social-posts.ts';

export interface PublishDeps {
  db: Kysely<Database>;
  providers: Record<SocialAccount['platform'], SocialProvider>;
  encryptionKey: Buffer;
  /** Fetches the posts' images (checked addresses; SOCIAL_ALLOWED_HOSTS). */
  mediaHttp: SafeFetch;
  mediaMaxBytes: number;
  mediaTimeoutMs: number;
  now: () => Date;
}

export interface PublishContext {
  log: Logger;
  signal: AbortSignal;
  registerSecret(value: string): void;
}

export type PublishOutcome =
  | {
      post_id: string;
      outcome: 'published' | 'found_existing';
      platform: string;
      platform_post_id: string;
      url: string | null;
    }
  | { post_id: string; outcome: 'rejected'; platform: string | null; reason: string };

export async function publishPost(deps: PublishDeps, post: SocialPost, ctx: PublishContext): Promise<PublishOutcome> {
  const reject = async (platform: string | null, reason: string): Promise<PublishOutcome> => {
    await markRejected(deps.db, post, reason, deps.now());
    ctx.log.warn({ postId: post.id, reason }, 'social post rejected');
    return { post_id: post.id, outcome: 'rejected', platform, reason };
  };

  const account = await loadAccount(deps.db, post.workspace_id, post.account_id);
  if (!account) return reject(null, `account ${post.account_id} is not an account of this workspace`);
  if (!account.is_active) return reject(account.platform, `account ${account.handle} is deactivated`);
  const provider = deps.providers[account.platform];
  const problems = postProblems(provider.rules, post);
  if (problems.length > 0) return reject(account.platform, problems.join('; '));

  const accessToken = decryptToken(deps.encryptionKey, account.access_token_encrypted);
  ctx.registerSecret(accessToken);
  const credentials: AccountCredentials = {
    baseUrl: account.base_url,
    handle: account.handle,
    accessToken,
    platformUserId: account.platform_user_id,
  };
  const published = (outcome: 'published' | 'found_existing', p: { postId: string; url: string | null }) => ({
    post_id: post.id,
    outcome,
    platform: account.platform,
    platform_post_id: p.postId,
    url: p.url,
  });

  if (post.create_sent_at) {
    const found = await provider.findPublished(
      credentials,
      { text: post.text, idempotencyKey: post.idempotency_key, since: post.create_sent_at },
      ctx.signal,
    );
    if (found) {
      await markPublished(deps.db, post, found, deps.now());
      ctx.log.info({ postId: post.id, platformPostId: found.postId }, 'social post found from an earlier attempt');
      return published('found_existing', found);
    }
  }

  let mediaIds: string[];
  try {
    const files = [];
    for (const [i, m] of post.media.entries()) {
      files.push(
        await fetchMedia(deps.mediaHttp, m, i, {
          maxBytes: deps.mediaMaxBytes,
          timeoutMs: deps.mediaTimeoutMs,
          signal: ctx.signal,
        }),
      );
    }
    const fileProblems = mediaProblems(provider.rules, files);
    if (fileProblems.length > 0) return reject(account.platform, fileProblems.join('; '));
    mediaIds = [];
    for (const f of files) mediaIds.push(await provider.uploadMedia(credentials, f, ctx.signal));
  } catch (error) {
    if (error instanceof MediaError || error instanceof RejectedError) return reject(account.platform, error.message);
    throw error;
  }

  const since = await markCreateSent(deps.db, post, deps.now());
  let created: { postId: string; url: string | null };
  try {
    created = await provider.createPost(
      credentials,
      { text: post.text, mediaIds, idempotencyKey: post.idempotency_key, since },
      ctx.signal,
    );
  } catch (error) {
    if (error instanceof RejectedError) return reject(account.platform, error.message);
    throw error;
  }
  await markPublished(deps.db, post, created, deps.now());
  ctx.log.info({ postId: post.id, platformPostId: created.postId }, 'social post published');
  return published('published', created);
}
