/**
 * Publishing against local Mastodon and X stubs, with a real Postgres: idempotency across a
 * timeout that did create the post, rate limits, refused files, rules checked before sending,
 * tokens kept out of every message, and workspaces kept apart.
 */

import { PermanentError, RetryLaterError } from '@fleet/runtime';
import { createSafeFetch, parseAllowlist, type SafeFetch } from '@fleet/safe-fetch';
import { createTestDatabase, createWorkspace, type TestDatabase } from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MastodonProvider } from '../src/mastodon-provider.ts';
import { publishDue } from '../src/publish-due.ts';
import { XProvider } from '../src/x-provider.ts';
import { insertAccount, insertPost, KEY, postRow } from './helpers.ts';
import { badImage, bmp, MastodonStub, png, startImageHost, XStub } from './platform-stubs.ts';

let t: TestDatabase;
let mastodon: MastodonStub;
let x: XStub;
let images: Awaited<ReturnType<typeof startImageHost>>;
let http: SafeFetch;
let ws: string;
let mastodonAccount: string;
let xAccount: string;
const secrets: string[] = [];

const ctx = {
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
  registerSecret: (v: string) => void secrets.push(v),
};

function deps() {
  const httpDeps = { http, timeoutMs: 700 };
  return {
    db: t.db,
    providers: { mastodon: new MastodonProvider({ ...httpDeps, processingPollMs: 10 }), x: new XProvider(httpDeps) },
    encryptionKey: KEY,
    mediaHttp: http,
    mediaMaxBytes: 16 * 1024 * 1024,
    mediaTimeoutMs: 5_000,
    now: () => new Date(),
    leaseMs: 60_000,
    batchSize: 50,
  };
}

const publish = (postId?: string, workspaceId = ws) => publishDue(deps(), { workspaceId, postId }, ctx);

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => new Error('expected a failure'),
    (e: Error) => e,
  );
}

beforeAll(async () => {
  t = await createTestDatabase('social_publishing');
  mastodon = await new MastodonStub('mastodon-token-6f1c2a').start();
  x = await new XStub('x-token-93be7d').start();
  images = await startImageHost({
    '/logo.png': ['image/png', png()],
    '/broken.jpg': ['image/jpeg', badImage()],
    '/old.bmp': ['image/bmp', bmp()],
  });
  http = createSafeFetch({ allow: parseAllowlist(['127.0.0.1']), allowVariable: 'SOCIAL_ALLOWED_HOSTS' });
  ws = await createWorkspace(t.db);
  mastodonAccount = await insertAccount(t.db, ws, {
    platform: 'mastodon',
    baseUrl: mastodon.baseUrl,
    token: mastodon.token,
  });
  xAccount = await insertAccount(t.db, ws, {
    platform: 'x',
    baseUrl: x.baseUrl,
    token: x.token,
    platformUserId: x.userId,
  });
});

afterAll(async () => {
  await http?.close();
  await Promise.all([mastodon?.close(), x?.close(), images?.close()]);
  await t?.drop();
});

describe('Mastodon', () => {
  it('uploads the image, creates the status with the post’s idempotency key, and stores its id', async () => {
    const post = await insertPost(t.db, ws, mastodonAccount, {
      text: 'Spring launch: https://example.org/spring',
      media: [{ url: images.url('/logo.png'), alt_text: 'Our logo' }],
    });
    const result = await publish(post);
    const row = await postRow(t.db, post);
    const status = mastodon.posts.at(-1)!;
    expect(result.output).toMatchObject({ published: 1, rejected: 0 });
    expect(result.output.posts[0]).toEqual({
      post_id: post,
      outcome: 'published',
      platform: 'mastodon',
      platform_post_id: status.id,
      url: `${mastodon.baseUrl}/@brand/${status.id}`,
    });
    expect(row).toMatchObject({ status: 'published', platform_post_id: status.id, claimed_until: null });
    const upload = mastodon.requests.find((r) => r.path === '/api/v2/media')!;
    expect(upload.files).toEqual([{ field: 'file', name: 'logo.png', type: 'image/png', size: 256 }]);
    expect(upload.fields.description).toBe('Our logo');
    const create = mastodon.requests.filter((r) => r.path === '/api/v1/statuses').at(-1)!;
    expect(create.idempotencyKey).toBe(row.idempotency_key);
    expect(create.json).toMatchObject({
      status: 'Spring launch: https://example.org/spring',
      media_ids: status.mediaIds,
    });
    expect(secrets).toContain(mastodon.token);
    // Published: another run finds nothing to do and sends nothing.
    const before = mastodon.requests.length;
    expect((await publish()).output.due).toBe(0);
    expect(mastodon.requests.length).toBe(before);
  });

  it('waits for an upload the server is still processing before attaching it', async () => {
    const post = await insertPost(t.db, ws, mastodonAccount, {
      text: 'Processed image',
      media: [{ url: images.url('/logo.png') }],
    });
    mastodon.fault('POST /api/v2/media', 'processing');
    await publish(post);
    const status = mastodon.posts.at(-1)!;
    expect(status.text).toBe('Processed image');
    const checks = mastodon.requests.filter((r) => r.path === `/api/v1/media/${status.mediaIds[0]}`);
    expect(checks).toHaveLength(2);
    // The status was created only after the second check said the media was ready.
    const order = mastodon.requests.map((r) => r.path);
    expect(order.lastIndexOf(`/api/v1/media/${status.mediaIds[0]}`)).toBeLessThan(
      order.lastIndexOf('/api/v1/statuses'),
    );
  });

  it('defers on 429 until X-RateLimit-Reset, then publishes once with the same idempotency key', async () => {
    const post = await insertPost(t.db, ws, mastodonAccount, { text: 'Rate limited once' });
    mastodon.fault('POST /api/v1/statuses', 'rate_limit');
    const error = await failure(publish(post));
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delayMs).toBeGreaterThan(80_000);
    expect((error as RetryLaterError).delayMs).toBeLessThanOrEqual(90_000);
    expect(await postRow(t.db, post)).toMatchObject({ status: 'publishing', claimed_until: null });
    await publish(post);
    const creates = mastodon.requests.filter((r) => (r.json as { status?: string })?.status === 'Rate limited once');
    expect(creates).toHaveLength(2);
    expect(new Set(creates.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(mastodon.posts.filter((p) => p.text === 'Rate limited once')).toHaveLength(1);
  });

  it('does not post twice after a timeout that created the status', async () => {
    const post = await insertPost(t.db, ws, mastodonAccount, { text: 'Timeout after create & more' });
    mastodon.fault('POST /api/v1/statuses', 'hang_after_create');
    const error = await failure(publish(post));
    expect(error.message).toMatch(/Mastodon status: request failed: timed out after 700 ms/);
    expect(mastodon.posts.filter((p) => p.text === 'Timeout after create & more')).toHaveLength(1);
    expect((await postRow(t.db, post)).create_sent_at).not.toBeNull();
    const creates = mastodon.count('POST /api/v1/statuses');

    const retry = await publish(post);
    expect(retry.output.posts[0]).toMatchObject({ outcome: 'found_existing' });
    expect(mastodon.count('POST /api/v1/statuses')).toBe(creates);
    expect(mastodon.posts.filter((p) => p.text === 'Timeout after create & more')).toHaveLength(1);
    expect((await postRow(t.db, post)).platform_post_id).toBe(mastodon.posts.at(-1)!.id);
  });

  it('rejects a post whose image the server refuses, without creating a status', async () => {
    const post = await insertPost(t.db, ws, mastodonAccount, {
      text: 'Broken image',
      media: [{ url: images.url('/broken.jpg') }],
    });
    const before = mastodon.posts.length;
    const result = await publish(post);
    expect(result.status).toBe('failed');
    expect(result.output.posts[0]).toMatchObject({ outcome: 'rejected' });
    expect(result.error).toContain('Mastodon answered 422: Validation failed: File could not be processed');
    expect(mastodon.posts.length).toBe(before);
    expect(await postRow(t.db, post)).toMatchObject({ status: 'rejected' });
    // Rejected is final: the next run does not try it again.
    expect((await publish()).output.due).toBe(0);
  });

  it('keeps a token the server quotes back out of the error', async () => {
    const post = await insertPost(t.db, ws, mastodonAccount, { text: 'Echoing server' });
    mastodon.fault('POST /api/v1/statuses', 'unauthorized_echo');
    const error = await failure(publish(post));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('reconnect the account');
    expect(error.message).not.toContain(mastodon.token);
    await t.db.updateTable('social_posts').set({ status: 'cancelled' }).where('id', '=', post).execute();
  });
});

describe('X', () => {
  it('publishes with media and alt text', async () => {
    const post = await insertPost(t.db, ws, xAccount, {
      text: 'Hello X',
      media: [{ url: images.url('/logo.png'), alt_text: 'Logo' }],
    });
    const result = await publish(post);
    const tweet = x.posts.at(-1)!;
    expect(result.output.posts[0]).toEqual({
      post_id: post,
      outcome: 'published',
      platform: 'x',
      platform_post_id: tweet.id,
      url: `https://x.com/brand/status/${tweet.id}`,
    });
    expect(x.requests.find((r) => r.path === '/2/media/upload')!.fields).toMatchObject({
      media_category: 'tweet_image',
      media_type: 'image/png',
    });
    expect(x.requests.find((r) => r.path === '/2/media/metadata')!.json).toEqual({
      id: tweet.mediaIds[0],
      metadata: { alt_text: { text: 'Logo' } },
    });
  });

  it('defers on 429 until x-rate-limit-reset', async () => {
    const post = await insertPost(t.db, ws, xAccount, { text: 'X rate limit' });
    x.fault('POST /2/tweets', 'rate_limit');
    const error = await failure(publish(post));
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delayMs).toBeGreaterThan(110_000);
    expect((error as RetryLaterError).delayMs).toBeLessThanOrEqual(121_000);
    await publish(post);
    expect(x.posts.filter((p) => p.text === 'X rate limit')).toHaveLength(1);
  });

  it('finds its own post after a timeout that created it, instead of posting again', async () => {
    const post = await insertPost(t.db, ws, xAccount, { text: 'X timeout after create https://example.org/a' });
    x.fault('POST /2/tweets', 'hang_after_create');
    await failure(publish(post));
    const creates = x.count('POST /2/tweets');
    const retry = await publish(post);
    expect(retry.output.posts[0]).toMatchObject({ outcome: 'found_existing', platform_post_id: x.posts.at(-1)!.id });
    expect(x.count('POST /2/tweets')).toBe(creates);
    expect(x.count(`GET /2/users/${x.userId}/tweets`)).toBeGreaterThan(0);
    expect(x.posts.filter((p) => p.text.startsWith('X timeout after create'))).toHaveLength(1);
  });

  it('rejects a file X refuses', async () => {
    const post = await insertPost(t.db, ws, xAccount, {
      text: 'Broken on X',
      media: [{ url: images.url('/broken.jpg') }],
    });
    const before = x.posts.length;
    const result = await publish(post);
    expect(result.error).toContain('X answered 400: One or more parameters to your request was invalid.');
    expect(x.posts.length).toBe(before);
  });
});

describe('rules checked before anything is sent', () => {
  it('rejects text over X’s weighted 280 and an image type no platform takes, sending nothing', async () => {
    // 141 CJK characters weigh 282.
    const long = await insertPost(t.db, ws, xAccount, { text: '漢'.repeat(141) });
    const oldImage = await insertPost(t.db, ws, mastodonAccount, {
      text: 'Old image',
      media: [{ url: images.url('/old.bmp') }],
    });
    const xBefore = x.requests.length;
    const mBefore = mastodon.requests.length;
    const result = await publish();
    expect(result.status).toBe('failed');
    expect(
      Object.fromEntries(result.output.posts.map((p) => [p.post_id, p.outcome === 'rejected' ? p.reason : ''])),
    ).toEqual({
      [long]: 'text: 282 characters as x counts them, more than its 280',
      [oldImage]: 'media[0]: type image/bmp is not accepted by mastodon (image/jpeg, image/png, image/gif, image/webp)',
    });
    expect(x.requests.length).toBe(xBefore);
    expect(mastodon.requests.length).toBe(mBefore);
  });

  it('publishes the good posts of a batch and lists the rejected one (partial failure)', async () => {
    const good = await insertPost(t.db, ws, mastodonAccount, { text: 'Good one' });
    const bad = await insertPost(t.db, ws, mastodonAccount, { text: 'x'.repeat(501) });
    const result = await publish();
    expect(result.status).toBe('partial_failure');
    expect(result.output).toMatchObject({ due: 2, published: 1, rejected: 1 });
    expect((await postRow(t.db, good)).status).toBe('published');
    expect((await postRow(t.db, bad)).last_error).toBe(
      'text: 501 characters as mastodon counts them, more than its 500',
    );
  });
});

describe('trust', () => {
  it('never publishes another workspace’s post', async () => {
    const other = await createWorkspace(t.db);
    const account = await insertAccount(t.db, other, {
      platform: 'mastodon',
      baseUrl: mastodon.baseUrl,
      token: mastodon.token,
    });
    const theirs = await insertPost(t.db, other, account, { text: 'Not yours' });
    const error = await failure(publish(theirs));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain(`post_id ${theirs}: no post of this workspace`);
    expect((await publish()).output.posts.map((p) => p.post_id)).not.toContain(theirs);
    expect(await postRow(t.db, theirs)).toMatchObject({ status: 'scheduled', publish_attempts: 0 });
    expect(mastodon.posts.some((p) => p.text === 'Not yours')).toBe(false);
  });

  it('refuses an account whose base URL is on a private address unless SOCIAL_ALLOWED_HOSTS opens it', async () => {
    const strict = createSafeFetch({ allowVariable: 'SOCIAL_ALLOWED_HOSTS' });
    try {
      const post = await insertPost(t.db, ws, mastodonAccount, { text: 'Internal' });
      const httpDeps = { http: strict, timeoutMs: 700 };
      const error = await failure(
        publishDue(
          { ...deps(), providers: { mastodon: new MastodonProvider(httpDeps), x: new XProvider(httpDeps) } },
          { workspaceId: ws, postId: post },
          ctx,
        ),
      );
      expect(error).toBeInstanceOf(PermanentError);
      expect(error.message).toMatch(/127\.0\.0\.1 is a loopback address \(rule: loopback\); SOCIAL_ALLOWED_HOSTS/);
      expect(mastodon.posts.some((p) => p.text === 'Internal')).toBe(false);
    } finally {
      await strict.close();
    }
  });
});
