/**
 * social_media_posting through social_media_queue and the real agent: a Mastodon post whose
 * first create times out after the server made it is published once, with one audit row per
 * attempt; a 429 defers the job without spending an attempt; the token is in no row.
 */

import { Writable } from 'node:stream';
import type { Database } from '@fleet/db';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import agentDefinition from '../src/index.ts';
import { insertAccount, insertCalendarPost, insertPost, itemStatus, KEY, postRow } from './helpers.ts';
import { MastodonStub, png, startImageHost, XStub } from './platform-stubs.ts';

let t: TestDatabase;
let db: Kysely<Database>;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let mastodon: MastodonStub;
let x: XStub;
let images: Awaited<ReturnType<typeof startImageHost>>;
/** Every line the agent logged. */
let logged = '';

beforeAll(async () => {
  t = await createTestDatabase('social_e2e');
  db = t.db;
  r = createTestRedis('social-e2e');
  mastodon = await new MastodonStub('e2e-mastodon-token-41d8').start();
  x = await new XStub('e2e-x-token-77aa').start();
  images = await startImageHost({ '/card.png': ['image/png', png(1024)] });
  producer = createProducer({ redis: r.url, prefix: r.prefix, db });
  agent = await startAgent(agentDefinition, {
    logDestination: new Writable({
      write(chunk, _encoding, done) {
        logged += String(chunk);
        done();
      },
    }),
    env: {
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'false',
      METRICS_PROCESS: 'false',
      MAIL_TOKEN_ENCRYPTION_KEY: KEY.toString('base64'),
      SOCIAL_ALLOWED_HOSTS: '127.0.0.1',
      SOCIAL_HTTP_TIMEOUT_MS: '1000',
    },
  });
}, 60_000);

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await Promise.all([mastodon?.close(), x?.close(), images?.close()]);
  await r?.cleanup();
  await t?.drop();
});

async function rows(jobId: string, count: number) {
  return waitFor(
    async () => {
      const found = await db
        .selectFrom('autonomous_tasks')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('attempt')
        .execute();
      return found.length >= count && found.every((row) => !['pending', 'running'].includes(row.status))
        ? found
        : undefined;
    },
    { timeoutMs: 30_000, what: `${count} finished audit row(s) of job ${jobId}` },
  );
}

describe('social publisher through its queue', () => {
  it('publishes once across a timeout that created the post, one audit row per attempt', async () => {
    const ws = await createWorkspace(db);
    const account = await insertAccount(db, ws, {
      platform: 'mastodon',
      baseUrl: mastodon.baseUrl,
      token: mastodon.token,
    });
    const item = await insertCalendarPost(db, ws, { title: 'Launch day' });
    const post = await insertPost(db, ws, account, {
      text: 'Launch day! https://example.org/launch',
      media: [{ url: images.url('/card.png'), alt_text: 'Launch card' }],
      calendarItemId: item,
    });
    mastodon.fault('POST /api/v1/statuses', 'hang_after_create');
    const job = await producer.enqueue(
      'social_media_queue',
      'social_media_posting',
      { workspace_id: ws, post_id: post },
      { backoff: { type: 'fixed', delay: 200 } },
    );
    const [first, second] = await rows(job.jobId, 2);
    expect(first).toMatchObject({
      attempt: 1,
      status: 'failed',
      task_type: 'social_media_posting',
      agent_name: 'social-publisher',
    });
    expect(first!.error_message).toContain('Mastodon status: request failed: timed out after 1000 ms');
    expect(second).toMatchObject({ attempt: 2, status: 'completed', workspace_id: ws });
    const published = await postRow(db, post);
    expect(second!.output_data).toEqual({
      workspace_id: ws,
      due: 1,
      published: 0,
      found_existing: 1,
      rejected: 0,
      skipped: 0,
      posts: [
        {
          post_id: post,
          outcome: 'found_existing',
          platform: 'mastodon',
          platform_post_id: published.platform_post_id,
          url: published.platform_post_url,
        },
      ],
      skipped_post_ids: [],
      // A job with post_id creates no posts from the calendar; its item's only post is published.
      from_calendar: { created: 0, cancelled: 0, items_published: 1, items_failed: 0 },
    });
    expect(await itemStatus(db, item)).toBe('published');
    expect(mastodon.posts.filter((p) => p.text.startsWith('Launch day!'))).toHaveLength(1);
    expect(published).toMatchObject({ status: 'published', publish_attempts: 2 });
    expect(JSON.stringify([first, second])).not.toContain(mastodon.token);
  });

  it('defers a rate-limited job without spending an attempt, then publishes', async () => {
    const ws = await createWorkspace(db);
    const account = await insertAccount(db, ws, {
      platform: 'x',
      baseUrl: x.baseUrl,
      token: x.token,
      platformUserId: x.userId,
    });
    const post = await insertPost(db, ws, account, { text: 'Rate limited on X' });
    expect((await postRow(db, post)).status).toBe('scheduled');
    x.resetInSeconds = 1;
    x.fault('POST /2/tweets', 'rate_limit');
    const job = await producer.enqueue(
      'social_media_queue',
      'social_media_posting',
      { workspace_id: ws },
      { attempts: 1 },
    );
    const [first, second] = await rows(job.jobId, 2);
    expect(first!.status).toBe('failed');
    expect(first!.error_message).toMatch(/^deferred \d+s: post .*: X post: rate limited \(429\); retrying in \d+ s/);
    // attempts: 1, yet it ran again: a deferral spends no attempt.
    expect(second).toMatchObject({ status: 'completed' });
    expect(second!.output_data).toMatchObject({ published: 1 });
    expect(x.posts.filter((p) => p.text === 'Rate limited on X')).toHaveLength(1);
    expect((await postRow(db, post)).status).toBe('published');
  });

  it('fails permanently on a refused token, which appears in no row and no log line', async () => {
    const ws = await createWorkspace(db);
    const account = await insertAccount(db, ws, {
      platform: 'mastodon',
      baseUrl: mastodon.baseUrl,
      token: mastodon.token,
    });
    const post = await insertPost(db, ws, account, { text: 'Token refused' });
    mastodon.fault('POST /api/v1/statuses', 'unauthorized_echo');
    const job = await producer.enqueue('social_media_queue', 'social_media_posting', {
      workspace_id: ws,
      post_id: post,
    });
    const [row, ...more] = await rows(job.jobId, 1);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ status: 'failed' });
    expect(row!.error_message).toContain(
      'Mastodon status: Mastodon answered 401: Token [redacted] is not valid; reconnect the account',
    );
    expect((await postRow(db, post)).last_error).not.toContain(mastodon.token);
    expect(logged).toContain(job.jobId);
    for (const token of [mastodon.token, x.token]) expect(logged).not.toContain(token);
  });
});
