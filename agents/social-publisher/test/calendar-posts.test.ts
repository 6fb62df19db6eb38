/**
 * Content calendar posts reaching the platforms through social_media_posting, against the
 * Mastodon and X stubs and a real Postgres: a due calendar post is published once per target
 * account however often the job runs, a cancelled or deleted item's unsent post never is, a
 * future item waits for its start, and another workspace's items, links and accounts are never
 * used. Each test has its own workspace, so a run without post_id sees only its rows.
 */

import { PermanentError } from '@fleet/runtime';
import { createSafeFetch, parseAllowlist, type SafeFetch } from '@fleet/safe-fetch';
import { createTestDatabase, createWorkspace, type TestDatabase } from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialiseCalendarPosts } from '../src/calendar-posts.ts';
import { MastodonProvider } from '../src/mastodon-provider.ts';
import { publishDue } from '../src/publish-due.ts';
import { XProvider } from '../src/x-provider.ts';
import { insertAccount, insertCalendarPost, itemStatus, KEY, postsOfItem } from './helpers.ts';
import { MastodonStub, XStub } from './platform-stubs.ts';

let t: TestDatabase;
let mastodon: MastodonStub;
let x: XStub;
let http: SafeFetch;

const ctx = {
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
  registerSecret: () => {},
};

function publishDeps(now: () => Date) {
  const httpDeps = { http, timeoutMs: 2_000 };
  return {
    db: t.db,
    providers: { mastodon: new MastodonProvider({ ...httpDeps, processingPollMs: 10 }), x: new XProvider(httpDeps) },
    encryptionKey: KEY,
    mediaHttp: http,
    mediaMaxBytes: 16 * 1024 * 1024,
    mediaTimeoutMs: 5_000,
    now,
    leaseMs: 60_000,
    batchSize: 50,
  };
}

/** A run without post_id: everything due in the workspace. */
function publish(workspaceId: string, now = () => new Date()) {
  return publishDue(publishDeps(now), { workspaceId }, ctx);
}

/** A workspace with one Mastodon and one X account on the stubs. */
async function workspace() {
  const ws = await createWorkspace(t.db);
  const mastodonAccount = await insertAccount(t.db, ws, {
    platform: 'mastodon',
    baseUrl: mastodon.baseUrl,
    token: mastodon.token,
  });
  const xAccount = await insertAccount(t.db, ws, {
    platform: 'x',
    baseUrl: x.baseUrl,
    token: x.token,
    platformUserId: x.userId,
  });
  return { ws, mastodonAccount, xAccount };
}

const sent = (text: string) => [...mastodon.posts, ...x.posts].filter((p) => p.text === text);

beforeAll(async () => {
  t = await createTestDatabase('social_calendar');
  mastodon = await new MastodonStub('calendar-mastodon-token-5e2a').start();
  x = await new XStub('calendar-x-token-c41f').start();
  http = createSafeFetch({ allow: parseAllowlist(['127.0.0.1']), allowVariable: 'SOCIAL_ALLOWED_HOSTS' });
});

afterAll(async () => {
  await http?.close();
  await Promise.all([mastodon?.close(), x?.close()]);
  await t?.drop();
});

describe('a scheduled calendar post', () => {
  it('is published exactly once to its target account across two runs, and the item marked published', async () => {
    const { ws, mastodonAccount } = await workspace();
    const startsAt = new Date(Date.now() - 5 * 60_000);
    const item = await insertCalendarPost(t.db, ws, {
      title: 'Spring launch',
      body: 'Spring is here: https://example.org/spring',
      startsAt,
      accounts: [mastodonAccount],
    });

    const first = await publish(ws);
    expect(first.output).toMatchObject({
      due: 1,
      published: 1,
      from_calendar: { created: 1, cancelled: 0, items_published: 1, items_failed: 0 },
    });
    const [post, ...others] = await postsOfItem(t.db, item);
    expect(others).toEqual([]);
    expect(post).toMatchObject({
      workspace_id: ws,
      account_id: mastodonAccount,
      text: 'Spring is here: https://example.org/spring',
      scheduled_at: startsAt,
      status: 'published',
    });
    expect(await itemStatus(t.db, item)).toBe('published');

    // The item is published now; even put back to scheduled, the (item, account) post exists.
    await t.db.updateTable('content_calendar_items').set({ status: 'scheduled' }).where('id', '=', item).execute();
    const second = await publish(ws);
    expect(second.output).toMatchObject({ due: 0, published: 0, from_calendar: { created: 0 } });
    expect(await postsOfItem(t.db, item)).toHaveLength(1);
    expect(sent('Spring is here: https://example.org/spring')).toHaveLength(1);
  });

  it('goes to each target account, as its title when it has no body, once for a recurring item', async () => {
    const { ws, mastodonAccount, xAccount } = await workspace();
    const item = await insertCalendarPost(t.db, ws, {
      title: 'Weekly tip',
      body: '  ',
      rrule: 'FREQ=WEEKLY;BYDAY=MO',
      startsAt: new Date(Date.now() - 21 * 24 * 3600_000),
      accounts: [mastodonAccount, xAccount],
    });
    const result = await publish(ws);
    expect(result.output).toMatchObject({ published: 2, from_calendar: { created: 2, items_published: 1 } });
    expect((await postsOfItem(t.db, item)).map((p) => p.account_id).sort()).toEqual([mastodonAccount, xAccount].sort());
    expect(mastodon.posts.filter((p) => p.text === 'Weekly tip')).toHaveLength(1);
    expect(x.posts.filter((p) => p.text === 'Weekly tip')).toHaveLength(1);
  });

  it('marks the item failed when the platform rules reject one of its posts', async () => {
    const { ws, mastodonAccount, xAccount } = await workspace();
    // 141 CJK characters: 141 for Mastodon (limit 500), 282 for X (limit 280).
    const text = '春'.repeat(141);
    const item = await insertCalendarPost(t.db, ws, { title: text, accounts: [mastodonAccount, xAccount] });
    const result = await publish(ws);
    expect(result.status).toBe('partial_failure');
    expect(result.output.from_calendar).toEqual({ created: 2, cancelled: 0, items_published: 0, items_failed: 1 });
    expect(await itemStatus(t.db, item)).toBe('failed');
  });

  it('stays scheduled while one of its posts is still being published', async () => {
    const { ws, mastodonAccount, xAccount } = await workspace();
    const item = await insertCalendarPost(t.db, ws, { title: 'Two accounts', accounts: [mastodonAccount, xAccount] });
    await materialiseCalendarPosts(t.db, ws, new Date());
    // Another worker holds the X post.
    await t.db
      .updateTable('social_posts')
      .set({ status: 'publishing', claimed_until: new Date(Date.now() + 60_000) })
      .where('calendar_item_id', '=', item)
      .where('account_id', '=', xAccount)
      .execute();
    const result = await publish(ws);
    expect(result.output).toMatchObject({ published: 1, from_calendar: { items_published: 0 } });
    expect(await itemStatus(t.db, item)).toBe('scheduled');
    // Its lease ran out: the next run publishes it and ends the item.
    await t.db.updateTable('social_posts').set({ claimed_until: null }).where('calendar_item_id', '=', item).execute();
    expect((await publish(ws)).output).toMatchObject({ published: 1, from_calendar: { items_published: 1 } });
    expect(await itemStatus(t.db, item)).toBe('published');
  });

  it('is not materialised before it starts', async () => {
    const { ws, mastodonAccount } = await workspace();
    const startsAt = new Date(Date.now() + 60 * 60_000);
    const item = await insertCalendarPost(t.db, ws, { title: 'Later today', startsAt, accounts: [mastodonAccount] });
    const now = await publish(ws);
    expect(now.output).toMatchObject({ due: 0, from_calendar: { created: 0 } });
    expect(await postsOfItem(t.db, item)).toEqual([]);
    expect(await itemStatus(t.db, item)).toBe('scheduled');
    // Once its start has passed, the same run publishes it.
    const later = await publish(ws, () => new Date(startsAt.getTime() + 1_000));
    expect(later.output).toMatchObject({ published: 1, from_calendar: { created: 1 } });
    expect(sent('Later today')).toHaveLength(1);
  });

  it('is not materialised while a draft or once deleted, nor is an entry that is not a post', async () => {
    const { ws, mastodonAccount } = await workspace();
    const deleted = await insertCalendarPost(t.db, ws, { title: 'Deleted', accounts: [mastodonAccount] });
    await t.db
      .updateTable('content_calendar_items')
      .set({ deleted_at: new Date() })
      .where('id', '=', deleted)
      .execute();
    const draft = await insertCalendarPost(t.db, ws, { title: 'Draft', status: 'draft', accounts: [mastodonAccount] });
    const campaign = await insertCalendarPost(t.db, ws, {
      title: 'Campaign',
      kind: 'campaign',
      accounts: [mastodonAccount],
    });
    expect((await publish(ws)).output.from_calendar.created).toBe(0);
    expect(await postsOfItem(t.db, draft)).toEqual([]);
    expect(await postsOfItem(t.db, campaign)).toEqual([]);
    expect(await postsOfItem(t.db, deleted)).toEqual([]);
  });
});

describe('a calendar item cancelled or deleted before its post is sent', () => {
  it('has its unsent post cancelled and never published', async () => {
    const { ws, mastodonAccount } = await workspace();
    const cancelled = await insertCalendarPost(t.db, ws, { title: 'Cancelled launch', accounts: [mastodonAccount] });
    const deleted = await insertCalendarPost(t.db, ws, { title: 'Deleted launch', accounts: [mastodonAccount] });
    // An earlier run made their posts and stopped before publishing them (e.g. deferred by a 429).
    expect(await materialiseCalendarPosts(t.db, ws, new Date())).toBe(2);
    await t.db.updateTable('content_calendar_items').set({ status: 'cancelled' }).where('id', '=', cancelled).execute();
    await t.db
      .updateTable('content_calendar_items')
      .set({ deleted_at: new Date() })
      .where('id', '=', deleted)
      .execute();

    const result = await publish(ws);
    expect(result.output).toMatchObject({ due: 0, published: 0, from_calendar: { created: 0, cancelled: 2 } });
    expect(await postsOfItem(t.db, cancelled)).toMatchObject([
      { status: 'cancelled', last_error: 'its content calendar item was cancelled', create_sent_at: null },
    ]);
    expect(await postsOfItem(t.db, deleted)).toMatchObject([
      { status: 'cancelled', last_error: 'its content calendar item was deleted' },
    ]);
    expect(sent('Cancelled launch')).toEqual([]);
    expect(sent('Deleted launch')).toEqual([]);
    expect(await itemStatus(t.db, cancelled)).toBe('cancelled');
  });

  it("is not published by a job naming its post, which skips the run's cancel step", async () => {
    const { ws, mastodonAccount } = await workspace();
    const item = await insertCalendarPost(t.db, ws, { title: 'Cancelled meanwhile', accounts: [mastodonAccount] });
    await materialiseCalendarPosts(t.db, ws, new Date());
    const [post] = await postsOfItem(t.db, item);
    await t.db.updateTable('content_calendar_items').set({ status: 'cancelled' }).where('id', '=', item).execute();
    // A job with post_id skips the run's cancel step: the claim itself refuses the post.
    const error = await publishDue(
      publishDeps(() => new Date()),
      { workspaceId: ws, postId: post!.id },
      ctx,
    ).then(
      () => new Error('expected a failure'),
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain(`post_id ${post!.id}: no post of this workspace that is due`);
    expect(sent('Cancelled meanwhile')).toEqual([]);
    expect(await postsOfItem(t.db, item)).toMatchObject([{ status: 'scheduled', publish_attempts: 0 }]);
  });

  it('removed outright, has its unsent post cancelled by the database, keeping the post', async () => {
    const { ws, mastodonAccount } = await workspace();
    const item = await insertCalendarPost(t.db, ws, { title: 'Removed launch', accounts: [mastodonAccount] });
    await materialiseCalendarPosts(t.db, ws, new Date());
    const [post] = await postsOfItem(t.db, item);
    await t.db.deleteFrom('content_calendar_items').where('id', '=', item).execute();
    const row = await t.db.selectFrom('social_posts').selectAll().where('id', '=', post!.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ calendar_item_id: null, status: 'cancelled' });
    expect((await publish(ws)).output.due).toBe(0);
    expect(sent('Removed launch')).toEqual([]);
  });

  it('cancels a post an attempt left before creating, but not one an attempt holds', async () => {
    const { ws, mastodonAccount } = await workspace();
    const left = await insertCalendarPost(t.db, ws, { title: 'Left by an attempt', accounts: [mastodonAccount] });
    const held = await insertCalendarPost(t.db, ws, { title: 'Held by an attempt', accounts: [mastodonAccount] });
    await materialiseCalendarPosts(t.db, ws, new Date());
    // An attempt whose image download failed: publishing, no create sent, lease freed.
    await t.db
      .updateTable('social_posts')
      .set({ status: 'publishing', claimed_until: null })
      .where('calendar_item_id', '=', left)
      .execute();
    // An attempt working on it right now (it may be about to send the create).
    await t.db
      .updateTable('social_posts')
      .set({ status: 'publishing', claimed_until: new Date(Date.now() + 60_000) })
      .where('calendar_item_id', '=', held)
      .execute();
    await t.db
      .updateTable('content_calendar_items')
      .set({ status: 'cancelled' })
      .where('id', 'in', [left, held])
      .execute();
    const result = await publish(ws);
    expect(result.output).toMatchObject({ due: 0, from_calendar: { cancelled: 1 } });
    expect(await postsOfItem(t.db, left)).toMatchObject([{ status: 'cancelled' }]);
    expect(await postsOfItem(t.db, held)).toMatchObject([{ status: 'publishing' }]);
    expect(sent('Left by an attempt')).toEqual([]);
  });

  it('keeps a post whose create may have reached the platform', async () => {
    const { ws, mastodonAccount } = await workspace();
    const item = await insertCalendarPost(t.db, ws, { title: 'Maybe sent', accounts: [mastodonAccount] });
    await materialiseCalendarPosts(t.db, ws, new Date());
    await t.db
      .updateTable('social_posts')
      .set({ status: 'publishing', create_sent_at: new Date() })
      .where('calendar_item_id', '=', item)
      .execute();
    await t.db.updateTable('content_calendar_items').set({ status: 'cancelled' }).where('id', '=', item).execute();
    const result = await publish(ws);
    expect(result.output.from_calendar.cancelled).toBe(0);
    // The earlier attempt's create is looked for (not found on the stub) and finished.
    expect(result.output.posts).toMatchObject([{ outcome: 'published' }]);
  });
});

describe('workspaces', () => {
  it('never uses another workspace’s calendar item or account', async () => {
    const a = await workspace();
    const b = await workspace();
    const theirs = await insertCalendarPost(t.db, b.ws, { title: 'Their post', accounts: [b.mastodonAccount] });
    const result = await publish(a.ws);
    expect(result.output).toMatchObject({ due: 0, from_calendar: { created: 0 } });
    expect(await postsOfItem(t.db, theirs)).toEqual([]);
    expect(sent('Their post')).toEqual([]);

    // A link between one workspace's item and another's account cannot be written, whichever
    // workspace it names.
    const ours = await insertCalendarPost(t.db, a.ws, { title: 'Our post' });
    for (const workspaceId of [a.ws, b.ws]) {
      const error = await t.db
        .insertInto('content_calendar_item_accounts')
        .values({ workspace_id: workspaceId, item_id: ours, account_id: b.mastodonAccount })
        .execute()
        .then(
          () => undefined,
          (e: { code?: string }) => e,
        );
      expect(error, workspaceId).toMatchObject({ code: '23503' });
    }
    // Nor can a post name another workspace's calendar item.
    const error = await t.db
      .insertInto('social_posts')
      .values({
        workspace_id: a.ws,
        account_id: a.mastodonAccount,
        calendar_item_id: theirs,
        text: 'Borrowed',
        scheduled_at: new Date(),
      })
      .execute()
      .then(
        () => undefined,
        (e: { code?: string }) => e,
      );
    expect(error).toMatchObject({ code: '23503' });
    expect((await publish(a.ws)).output.from_calendar.created).toBe(0);
    expect(sent('Our post')).toEqual([]);
  });
});
