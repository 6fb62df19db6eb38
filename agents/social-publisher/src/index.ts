import { defineAgent } from '@fleet/runtime';
import { createSafeFetch } from '@fleet/safe-fetch';
import { socialPublisherEnv } from './env.ts';
import { MastodonProvider } from './mastodon-provider.ts';
import { publishDue } from './publish-due.ts';
import { XProvider } from './x-provider.ts';

/** A post is held this long by the attempt that claimed it; a crashed worker's claim runs out. */
const LEASE_MS = 10 * 60_000;

/** social_media_queue worker: scheduled posts published to Mastodon and X, each exactly once. */
export default defineAgent({
  name: 'social-publisher',
  queue: 'social_media_queue',
  // Jobs wait on the platforms, and posts of one account share its rate limit.
  concurrency: 4,
  env: socialPublisherEnv,
  setup({ env }) {
    const http = createSafeFetch({ allow: env.SOCIAL_ALLOWED_HOSTS, allowVariable: 'SOCIAL_ALLOWED_HOSTS' });
    const httpDeps = { http, timeoutMs: env.SOCIAL_HTTP_TIMEOUT_MS };
    return {
      http,
      providers: { mastodon: new MastodonProvider(httpDeps), x: new XProvider(httpDeps) },
      encryptionKey: env.MAIL_TOKEN_ENCRYPTION_KEY,
      mediaMaxBytes: env.SOCIAL_MEDIA_MAX_BYTES,
      mediaTimeoutMs: env.SOCIAL_MEDIA_TIMEOUT_MS,
      batchSize: env.SOCIAL_BATCH_SIZE,
    };
  },
  teardown: (deps) => deps.http.close(),
  handlers: {
    async social_media_posting(payload, ctx) {
      const result = await publishDue(
        { ...ctx.deps, db: ctx.db, mediaHttp: ctx.deps.http, leaseMs: LEASE_MS, now: () => new Date() },
        { workspaceId: payload.workspace_id, postId: payload.post_id },
        { log: ctx.log, signal: ctx.signal, registerSecret: ctx.registerSecret },
      );
      return { ...result, costUsd: 0 };
    },
  },
});
