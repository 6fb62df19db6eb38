import { RetryLaterError } from '@fleet/runtime';
import { createTestDatabase, type TestDatabase, waitFor } from '@fleet/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { message } from './fixtures.ts';
import { ACCOUNT, createMailbox, deliverStandardMailbox, type Mailbox } from './helpers.ts';

let t: TestDatabase;
const open: Mailbox[] = [];

beforeAll(async () => {
  t = await createTestDatabase('email_sync');
});
afterAll(async () => {
  await t.drop();
});
afterEach(async () => {
  for (const m of open.splice(0)) await m.close();
});

async function mailbox(options?: Parameters<typeof createMailbox>[1]) {
  const m = await createMailbox(t.db, options);
  open.push(m);
  return m;
}

const emailsOf = (workspaceId: string) =>
  t.db.selectFrom('emails').selectAll().where('workspace_id', '=', workspaceId).orderBy('sent_at').execute();

const accountRow = (id: string) =>
  t.db.selectFrom('mail_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('full sync', () => {
  it('stores every listed message across pages with threads, contacts, directions and the cursor', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);

    const result = await m.sync();

    expect(result).toMatchObject({
      emails_synced: 5,
      new_contacts: 4,
      pages: 3,
      full_sync: true,
      full_sync_reason: 'no_cursor',
      failed_count: 0,
      cursor: m.stub.currentHistoryId,
      cursor_saved: true,
    });
    const emails = await emailsOf(m.workspaceId);
    expect(emails.map((e) => e.provider_message_id)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    const byId = Object.fromEntries(emails.map((e) => [e.provider_message_id, e]));

    // text/plain preferred over the HTML alternative
    expect(byId.m1!.body_text).toBe("Hi, here's our proposal.");
    expect(byId.m1!.snippet).toBe("Hi, here's our proposal.");
    expect(byId.m1!).toMatchObject({
      direction: 'inbound',
      from_address: 'alice@client.test',
      from_name: 'Alice Smith',
    });
    // HTML-only: tags, styles and link targets stripped
    expect(byId.m2!.body_text).toBe('Thanks Alice,\n\nlooks good.');
    expect(byId.m2!).toMatchObject({
      direction: 'outbound',
      to_addresses: ['alice@client.test'],
      cc_addresses: ['bob@client.test'],
      in_reply_to: 'm1@client.test',
      rfc_message_id: 'm2@acme.test',
    });
    // RFC 2047 encoded words in the subject and the sender's name
    expect(byId.m3!).toMatchObject({ subject: 'Grüße', from_name: 'Jürgen Müller' });
    expect(byId.m3!.body_text).toBe('Only HTML here\nsecond line');
    // the attachment is not read as body
    expect(byId.m4!.body_text).toBe('Contract attached.');

    // the reply by us marks Alice's message as answered, at the reply's time
    expect(byId.m1!.replied_at).toEqual(byId.m2!.sent_at);
    expect(byId.m2!.replied_at).toBeNull();

    const contacts = await t.db
      .selectFrom('contacts')
      .select(['id', 'email', 'display_name', 'source', 'last_interaction_at'])
      .where('workspace_id', '=', m.workspaceId)
      .orderBy('email')
      .execute();
    expect(contacts.map((c) => c.email)).toEqual([
      'alice@client.test',
      'bob@client.test',
      'carol@other.test',
      'dave@vendor.test',
    ]);
    expect(contacts.every((c) => c.source === 'email_sync')).toBe(true);
    const alice = contacts[0]!;
    expect(alice.display_name).toBe('Alice Smith');
    expect(alice.last_interaction_at).toEqual(byId.m4!.sent_at);
    // the contact of an outbound message is its recipient, of an inbound one its sender
    expect(byId.m2!.contact_id).toBe(alice.id);
    expect(byId.m4!.contact_id).toBe(alice.id);

    const threads = await t.db
      .selectFrom('email_threads')
      .selectAll()
      .where('workspace_id', '=', m.workspaceId)
      .orderBy('provider_thread_id')
      .execute();
    expect(threads.map((th) => [th.provider_thread_id, th.message_count])).toEqual([
      ['t1', 2],
      ['t3', 1],
      ['t4', 1],
      ['t5', 1],
    ]);
    expect(threads[0]!).toMatchObject({ subject: 'Proposal', account_id: m.accountId });
    expect(threads[0]!.last_message_at).toEqual(byId.m2!.sent_at);
    expect(byId.m1!.thread_id).toBe(threads[0]!.id);

    const account = await accountRow(m.accountId);
    expect(account.history_id).toBe(m.stub.currentHistoryId);
    expect(account.last_synced_at).not.toBeNull();
  });

  it('a re-run stores nothing twice and fetches no message it already has', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    await m.sync();
    const fetchedFirst = m.stub.count('/gmail/v1/users/me/messages/');

    // Forget the cursor: the next run is a full listing of the same mailbox.
    await t.db.updateTable('mail_accounts').set({ history_id: null }).where('id', '=', m.accountId).execute();
    const again = await m.sync();

    expect(again).toMatchObject({ emails_synced: 0, new_contacts: 0, full_sync: true, already_stored: 5 });
    expect(m.stub.count('/gmail/v1/users/me/messages/')).toBe(fetchedFirst);
    expect(await emailsOf(m.workspaceId)).toHaveLength(5);
    const contacts = await t.db
      .selectFrom('contacts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('workspace_id', '=', m.workspaceId)
      .executeTakeFirstOrThrow();
    expect(Number(contacts.n)).toBe(4);
  });

  it('respects since as the lower bound of a full sync', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    const result = await m.sync({ since: new Date('2026-03-02T10:15:00Z') });
    expect(result.emails_synced).toBe(2);
    expect((await emailsOf(m.workspaceId)).map((e) => e.provider_message_id)).toEqual(['m4', 'm5']);
  });
});

describe('incremental sync', () => {
  it('fetches only what the history adds, links a late reply and advances the cursor', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    await m.sync();
    const listedBefore = m.stub.count('/gmail/v1/users/me/messages', 'GET');

    // Dave's message gets answered by us; an unrelated new message arrives from Erin.
    m.stub.deliver(
      message({
        id: 'm6',
        threadId: 't5',
        from: ACCOUNT,
        to: 'dave@vendor.test',
        minute: 200,
        text: 'Paid.',
        inReplyTo: 'nonexistent@x',
      }),
    );
    m.stub.deliver(message({ id: 'm7', from: 'Erin <erin@new.test>', to: ACCOUNT, minute: 210, text: 'Hello' }));
    m.stub.deliver(message({ id: 'm8', from: 'erin@new.test', to: ACCOUNT, minute: 220, text: 'Again' }));

    const result = await m.sync();

    expect(result).toMatchObject({
      emails_synced: 3,
      new_contacts: 1,
      pages: 2,
      full_sync: false,
      full_sync_reason: null,
      cursor: m.stub.currentHistoryId,
      cursor_saved: true,
    });
    // history.list served the changes; messages.list was not called again, only 3 gets
    expect(m.stub.count('/gmail/v1/users/me/history')).toBe(2);
    expect(m.stub.requests.filter((r) => r.path === '/gmail/v1/users/me/messages').length).toBe(3);
    expect(m.stub.count('/gmail/v1/users/me/messages', 'GET') - listedBefore).toBe(3);
    expect((await accountRow(m.accountId)).history_id).toBe(m.stub.currentHistoryId);
    const thread = await t.db
      .selectFrom('email_threads')
      .select('message_count')
      .where('workspace_id', '=', m.workspaceId)
      .where('provider_thread_id', '=', 't5')
      .executeTakeFirstOrThrow();
    expect(thread.message_count).toBe(2);
  });

  it('links a reply stored before the message it answers', async () => {
    const m = await mailbox();
    // The reply arrives in an earlier sync than the original (e.g. the original was in a folder
    // the first listing did not see); linking works from either side.
    m.stub.deliver(
      message({ id: 'r1', from: ACCOUNT, to: 'zoe@z.test', minute: 50, text: 'Answer', inReplyTo: 'q1@z.test' }),
    );
    await m.sync();
    m.stub.deliver(
      message({ id: 'q1', from: 'zoe@z.test', to: ACCOUNT, minute: 10, text: 'Question', messageId: 'q1@z.test' }),
    );
    await m.sync();
    const emails = await emailsOf(m.workspaceId);
    const q1 = emails.find((e) => e.provider_message_id === 'q1')!;
    const r1 = emails.find((e) => e.provider_message_id === 'r1')!;
    expect(q1.replied_at).toEqual(r1.sent_at);
  });

  it('falls back to a full sync when Gmail has expired the history id (404)', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    await t.db.updateTable('mail_accounts').set({ history_id: '5' }).where('id', '=', m.accountId).execute();
    m.stub.oldestHistoryId = 900;

    const result = await m.sync();

    expect(result).toMatchObject({ full_sync: true, full_sync_reason: 'cursor_expired', emails_synced: 5 });
    expect(m.stub.requests.find((r) => r.path.endsWith('/history'))?.status).toBe(404);
    expect((await accountRow(m.accountId)).history_id).toBe(m.stub.currentHistoryId);
  });
});

describe('rate limits', () => {
  it('waits out a 429 with Retry-After and carries on', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.inject('/gmail/v1/users/me/messages/', {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: 429, message: 'Too many requests', status: 'RESOURCE_EXHAUSTED' } },
    });

    const result = await m.sync();

    expect(result.emails_synced).toBe(5);
    const limited = m.stub.requests.find((r) => r.status === 429)!;
    const retry = m.stub.requests.find((r) => r.path === limited.path && r.status === 200)!;
    // the retry of that message waited the second Retry-After asked for
    expect(retry.at - limited.at).toBeGreaterThanOrEqual(950);
  });

  it('retries a 403 rateLimitExceeded without Retry-After using backoff', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.inject(
      '/gmail/v1/users/me/messages',
      {
        status: 403,
        body: { error: { code: 403, message: 'Rate Limit Exceeded', errors: [{ reason: 'rateLimitExceeded' }] } },
      },
      2,
    );
    const result = await m.sync();
    expect(result.emails_synced).toBe(5);
    expect(m.stub.requests.filter((r) => r.status === 403)).toHaveLength(2);
  });

  it('stops waiting at once when the job is cancelled', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.inject('/gmail/v1/users/me/messages', { status: 429, headers: { 'retry-after': '4' } });
    const controller = new AbortController();
    const started = Date.now();
    const run = m.sync({}, controller.signal).catch((e: unknown) => e);
    await waitFor(() => m.stub.requests.some((r) => r.status === 429), { what: 'the 429' });
    controller.abort(new Error('cancelled by operator'));
    const error = (await run) as Error;
    expect(error.message).toBe('cancelled by operator');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(m.stub.count('/gmail/v1/users/me/messages')).toBe(1);
  });

  it('hands a long Retry-After to the runtime as RetryLaterError, keeping the old cursor', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.inject('/gmail/v1/users/me/messages/', { status: 429, headers: { 'retry-after': '120' } });

    const error = await m.sync().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delayMs).toBe(120_000);
    expect((await accountRow(m.accountId)).history_id).toBeNull();
  });

  it('treats a 403 without a rate-limit reason as a permission problem, not a wait', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.inject('/gmail/v1/users/me/profile', {
      status: 403,
      body: {
        error: { code: 403, message: 'Insufficient Permission', errors: [{ reason: 'insufficientPermissions' }] },
      },
    });
    await expect(m.sync()).rejects.toMatchObject({ name: 'PermanentError', message: /access denied/ });
    expect(m.stub.count('/gmail/v1/users/me/profile')).toBe(1);
  });
});

describe('tokens', () => {
  it('refreshes an access token that expires mid-sync once and finishes', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    // Expire the token as soon as the first page has been listed.
    m.stub.inject(
      (p) => {
        if (p === '/gmail/v1/users/me/messages' && m.stub.count('/gmail/v1/users/me/messages/') === 0) {
          queueMicrotask(() => m.stub.expireAccessTokens());
        }
        return false;
      },
      { status: 200 },
    );
    const result = await m.sync();
    expect(result.emails_synced).toBe(5);
    expect(m.stub.count('/token', 'POST')).toBe(2);
    expect(m.stub.requests.some((r) => r.status === 401)).toBe(true);
  });

  it('fails clearly when a freshly refreshed token is rejected too', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.rejectAllAccessTokens = true;
    await expect(m.sync()).rejects.toMatchObject({
      name: 'PermanentError',
      message: expect.stringMatching(/freshly refreshed access token was rejected/),
    });
    // one refresh at the start, one after the first 401, and no more
    expect(m.stub.count('/token', 'POST')).toBe(2);
  });

  it('fails permanently, without leaking the token, when the refresh token is revoked', async () => {
    const m = await mailbox();
    m.stub.validRefreshTokens.clear();
    const error = (await m.sync().catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('PermanentError');
    expect(error.message).toMatch(/invalid_grant.*reconnected/);
    expect(error.message).not.toMatch(/1\/\/refresh/);
  });
});

describe('malformed messages', () => {
  it('stores the good messages and reports the bad ones by id', async () => {
    const m = await mailbox();
    m.stub.deliver(message({ id: 'ok1', from: 'a@a.test', to: ACCOUNT, minute: 1, text: 'fine' }));
    const noFrom = message({ id: 'no-from', to: ACCOUNT, from: 'x', minute: 2, text: 'x' });
    noFrom.payload!.headers = noFrom.payload!.headers!.filter((h) => h.name !== 'From');
    m.stub.deliver(noFrom);
    const badBody = message({ id: 'bad-body', from: 'b@b.test', to: ACCOUNT, minute: 3, text: 'x' });
    badBody.payload!.parts![0]!.body!.data = '***not base64***';
    m.stub.deliver(badBody);
    m.stub.deliver({ id: 'no-payload', threadId: 'x', internalDate: '1772442000000' });
    m.stub.deliver(message({ id: 'ok2', from: 'c@c.test', to: ACCOUNT, minute: 4, text: 'also fine' }));

    const result = await m.sync();

    expect(result.emails_synced).toBe(3);
    expect(result.failed_count).toBe(2);
    expect(Object.fromEntries(result.failed_messages.map((f) => [f.id, f.reason]))).toEqual({
      'bad-body': expect.stringMatching(/not valid base64url/),
      'no-payload': 'message has no payload',
    });
    const stored = await emailsOf(m.workspaceId);
    expect(stored.map((e) => e.provider_message_id).sort()).toEqual(['no-from', 'ok1', 'ok2']);
    // mail that names no sender is kept, inbound, with no sender and no contact
    expect(stored.find((e) => e.provider_message_id === 'no-from')).toMatchObject({
      from_address: null,
      from_name: null,
      direction: 'inbound',
      contact_id: null,
    });
    // the failures are reported, and the cursor still moves on past them
    expect((await accountRow(m.accountId)).history_id).toBe(m.stub.currentHistoryId);
  });

  it('skips a message deleted between listing and fetching', async () => {
    const m = await mailbox();
    deliverStandardMailbox(m.stub);
    m.stub.inject('/gmail/v1/users/me/messages/m3', {
      status: 404,
      body: { error: { code: 404, message: 'Not Found' } },
    });
    const result = await m.sync();
    expect(result).toMatchObject({ emails_synced: 4, vanished: 1, failed_count: 0 });
  });
});

describe('account problems', () => {
  it('rejects an account of another workspace and names the field', async () => {
    const m = await mailbox();
    const other = await createMailbox(t.db);
    open.push(other);
    await expect(m.sync({ accountId: other.accountId })).rejects.toMatchObject({
      name: 'PermanentError',
      message: expect.stringMatching(/^account_id: mail account .* not found in workspace/),
    });
  });

  it('refuses an inactive account', async () => {
    const m = await mailbox();
    await t.db.updateTable('mail_accounts').set({ is_active: false }).where('id', '=', m.accountId).execute();
    await expect(m.sync()).rejects.toMatchObject({ name: 'PermanentError', message: /inactive/ });
  });
});
