/**
 * IMAP accounts synced against a real Dovecot started by the tests (see dovecot.ts): full and
 * incremental sync by UIDVALIDITY/UID with CONDSTORE, folder selection, the Gmail rules for
 * dedup, contacts, threads and the cursor, a UIDVALIDITY change, a dropped connection, the
 * connection limit, and encrypted credentials.
 */
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { Writable } from 'node:stream';
import { PermanentError, RetryLaterError } from '@fleet/runtime';
import { parseAllowlist } from '@fleet/safe-fetch';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { ImapFlow } from 'imapflow';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapProvider } from '../src/imap/imap-provider.ts';
import { addImapAccount, type NewImapAccount } from '../src/mail-accounts.ts';
import { type SyncContext, syncAccount } from '../src/sync-account.ts';
import { type Dovecot, startDovecot, startRelay } from './dovecot.ts';
import { createWorkspace, silentLog, testKey } from './helpers.ts';

let t: TestDatabase;
let dovecot: Dovecot;
/** IMAP_ALLOWED_HOSTS of these tests: the local Dovecot (and relays in front of it) on loopback. */
const allow = parseAllowlist(['127.0.0.1']);

beforeAll(async () => {
  t = await createTestDatabase('email_imap');
  dovecot = await startDovecot({ maxConnectionsPerUser: 3 });
}, 30_000);
afterAll(async () => {
  await dovecot?.stop();
  await t?.drop();
});

let seq = 0;
/** A message as an MTA would deliver it. */
function mail(spec: {
  from: string;
  to: string;
  subject: string;
  body: string;
  id?: string;
  inReplyTo?: string;
  minute?: number;
}): string {
  const date = new Date(Date.UTC(2026, 2, 2, 9, spec.minute ?? seq++)).toUTCString().replace('GMT', '+0000');
  return [
    `From: ${spec.from}`,
    `To: ${spec.to}`,
    `Subject: ${spec.subject}`,
    `Date: ${date}`,
    ...(spec.id === '' ? [] : [`Message-ID: <${spec.id ?? `${randomBytes(6).toString('hex')}@client.test`}>`]),
    ...(spec.inReplyTo ? [`In-Reply-To: <${spec.inReplyTo}>`, `References: <${spec.inReplyTo}>`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    spec.body,
    '',
  ].join('\r\n');
}

interface Box {
  user: string;
  password: string;
  workspaceId: string;
  accountId: string;
  provider: ImapProvider;
  sync(ctx?: Partial<SyncContext>): ReturnType<typeof syncAccount>;
}

async function mailbox(
  over: Partial<NewImapAccount> & { pageSize?: number; provider?: ImapProvider; maxReconnects?: number } = {},
): Promise<Box> {
  const user = `u${++seq}-${randomBytes(3).toString('hex')}@acme.test`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await dovecot.addUser(user, password);
  const workspaceId = await createWorkspace(t.db);
  const accountId = await addImapAccount(t.db, testKey, {
    workspaceId,
    emailAddress: user,
    host: dovecot.host,
    port: dovecot.port,
    security: 'none',
    password,
    ...over,
  });
  const provider =
    over.provider ??
    new ImapProvider({ pageSize: over.pageSize ?? 2, timeoutMs: 10_000, maxReconnects: over.maxReconnects, allow });
  return {
    user,
    password,
    workspaceId,
    accountId,
    provider,
    sync: (ctx = {}) =>
      syncAccount(
        t.db,
        { providers: [provider], encryptionKey: testKey, fullSyncLookbackDays: 36_500 },
        { workspaceId, accountId },
        { log: silentLog, ...ctx },
      ),
  };
}

const emailsOf = (workspaceId: string) =>
  t.db.selectFrom('emails').selectAll().where('workspace_id', '=', workspaceId).orderBy('sent_at').execute();
const accountRow = (id: string) =>
  t.db.selectFrom('mail_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('IMAP sync against Dovecot', () => {
  it('syncs INBOX and Sent in full, then only what is new, with Gmail’s dedup, contact and thread rules', async () => {
    const box = await mailbox();
    await dovecot.deliver(
      box.user,
      'INBOX',
      mail({
        from: 'Ann Lee <Ann@Client.test>',
        to: box.user,
        subject: 'Pilot',
        body: 'Can we start?',
        id: 'p1@client.test',
      }),
    );
    await dovecot.deliver(
      box.user,
      'Sent',
      mail({
        from: box.user,
        to: 'ann@client.test',
        subject: 'Re: Pilot',
        body: 'Yes, Monday.',
        id: 'p2@acme.test',
        inReplyTo: 'p1@client.test',
      }),
    );
    await dovecot.deliver(
      box.user,
      'INBOX',
      mail({ from: 'bob@vendor.test', to: box.user, subject: 'Invoice', body: 'Attached.' }),
    );
    // The same message delivered twice (a second copy in the folder) is stored once.
    const twice = mail({ from: 'cat@other.test', to: box.user, subject: 'Hello', body: 'Hi', id: 'dup@other.test' });
    await dovecot.deliver(box.user, 'INBOX', twice);
    await dovecot.deliver(box.user, 'INBOX', twice);
    // Junk is not synced by default.
    await dovecot.deliver(box.user, 'Junk', mail({ from: 'x@spam.test', to: box.user, subject: 'win', body: 'buy' }));

    const first = await box.sync();
    expect(first).toMatchObject({
      full_sync: true,
      full_sync_reason: 'no_cursor',
      emails_synced: 4,
      new_contacts: 3,
      failed_count: 0,
      cursor_saved: true,
    });
    // sent_at is the server's INTERNALDATE (delivery), so order by subject here
    const emails = (await emailsOf(box.workspaceId)).sort((a, b) => a.subject!.localeCompare(b.subject!));
    expect(emails.map((e) => [e.subject, e.direction, e.from_address])).toEqual([
      ['Hello', 'inbound', 'cat@other.test'],
      ['Invoice', 'inbound', 'bob@vendor.test'],
      ['Pilot', 'inbound', 'ann@client.test'],
      ['Re: Pilot', 'outbound', box.user],
    ]);
    const [, , pilot, reply] = emails;
    expect(reply!.labels).toEqual(['Sent', 'SENT']);
    // the reply links to the message it answers, and both share one thread
    expect(pilot!.replied_at).toEqual(reply!.sent_at);
    expect(pilot!.thread_id).toBe(reply!.thread_id);
    expect(pilot!.provider_message_id).toBe(`imap:${box.accountId}:p1@client.test`);
    const contact = await t.db
      .selectFrom('contacts')
      .selectAll()
      .where('workspace_id', '=', box.workspaceId)
      .where('email', '=', 'ann@client.test')
      .executeTakeFirstOrThrow();
    expect(contact.display_name).toBe('Ann Lee');
    const cursor = JSON.parse((await accountRow(box.accountId)).history_id!);
    expect(Object.keys(cursor.folders)).toEqual(['INBOX', 'Sent']);
    expect(cursor.folders.INBOX).toMatchObject({ uidNext: 5, modseq: expect.any(String) });

    await dovecot.deliver(
      box.user,
      'INBOX',
      mail({ from: 'ann@client.test', to: box.user, subject: 'Re: Pilot', body: 'Great', inReplyTo: 'p2@acme.test' }),
    );
    const second = await box.sync();
    expect(second).toMatchObject({ full_sync: false, emails_synced: 1, already_stored: 0, cursor_saved: true });
    // Nothing new: HIGHESTMODSEQ unchanged, no folder is searched, nothing fetched.
    const third = await box.sync();
    expect(third).toMatchObject({ full_sync: false, emails_synced: 0, already_stored: 0 });
    expect(await emailsOf(box.workspaceId)).toHaveLength(5);
  }, 30_000);

  it('resyncs a folder in full after its UIDVALIDITY changed, without duplicates', async () => {
    const box = await mailbox();
    for (let i = 0; i < 3; i++)
      await dovecot.deliver(
        box.user,
        'INBOX',
        mail({ from: `c${i}@client.test`, to: box.user, subject: `m${i}`, body: 'x' }),
      );
    await box.sync();
    const before = await accountRow(box.accountId);
    await dovecot.setUidValidity(box.user, 'INBOX', 4242);
    await dovecot.deliver(
      box.user,
      'INBOX',
      mail({ from: 'new@client.test', to: box.user, subject: 'after', body: 'y' }),
    );

    const result = await box.sync();
    expect(result).toMatchObject({
      full_sync: true,
      full_sync_reason: 'cursor_expired',
      emails_synced: 1,
      already_stored: 3,
    });
    expect(await emailsOf(box.workspaceId)).toHaveLength(4);
    const cursor = JSON.parse((await accountRow(box.accountId)).history_id!);
    expect(cursor.folders.INBOX.uidValidity).toBe('4242');
    expect(before.history_id).not.toBe((await accountRow(box.accountId)).history_id);
  }, 30_000);

  it('reconnects when the connection drops mid-sync and stores every message once', async () => {
    const relay = await startRelay(dovecot);
    try {
      const box = await mailbox({ host: relay.host, port: relay.port });
      for (let i = 0; i < 6; i++)
        await dovecot.deliver(
          box.user,
          'INBOX',
          mail({ from: `d${i}@client.test`, to: box.user, subject: `d${i}`, body: 'x' }),
        );
      const lines: string[] = [];
      const log = pino(
        { level: 'warn' },
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      );
      let dropped = false;
      const result = await box.sync({
        log,
        progress: () => {
          if (!dropped) {
            dropped = true;
            relay.dropAll();
          }
        },
      });
      expect(dropped).toBe(true);
      expect(result).toMatchObject({ emails_synced: 6, pages: 3, cursor_saved: true });
      expect(await emailsOf(box.workspaceId)).toHaveLength(6);
      expect(lines.some((l) => l.includes('IMAP connection lost; reconnecting'))).toBe(true);
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('fails retryably when the server stays away, keeps what it stored, and resumes without duplicates', async () => {
    const relay = await startRelay(dovecot);
    try {
      const box = await mailbox({ host: relay.host, port: relay.port });
      for (let i = 0; i < 6; i++)
        await dovecot.deliver(
          box.user,
          'INBOX',
          mail({ from: `e${i}@client.test`, to: box.user, subject: `e${i}`, body: 'x' }),
        );
      let pages = 0;
      const error = await box
        .sync({
          progress: () => {
            if (++pages === 1) {
              relay.refuse(true);
              relay.dropAll();
            }
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(error).toBeInstanceOf(Error);
      expect(error!.name).not.toBe('PermanentError');
      expect(await emailsOf(box.workspaceId)).toHaveLength(2);
      // the cursor moves only with the last page
      expect((await accountRow(box.accountId)).history_id).toBeNull();
      expect(box.provider.openConnections(relay.host)).toBe(0);

      relay.refuse(false);
      const result = await box.sync();
      expect(result).toMatchObject({ full_sync: true, emails_synced: 4, already_stored: 2, cursor_saved: true });
      expect(await emailsOf(box.workspaceId)).toHaveLength(6);
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('syncs only the chosen folders, and names a folder the server does not have', async () => {
    const box = await mailbox({ folders: ['Archive'] });
    await dovecot.deliver(
      box.user,
      'INBOX',
      mail({ from: 'a@client.test', to: box.user, subject: 'inbox', body: 'x' }),
    );
    await dovecot.deliver(
      box.user,
      'Archive',
      mail({ from: 'b@client.test', to: box.user, subject: 'archived', body: 'x' }),
    );
    expect(await box.sync()).toMatchObject({ emails_synced: 1 });
    expect((await emailsOf(box.workspaceId)).map((e) => [e.subject, e.labels])).toEqual([['archived', ['Archive']]]);

    const wrong = await mailbox({ folders: ['INBOX', 'Projects'] });
    await expect(wrong.sync()).rejects.toMatchObject({
      name: 'PermanentError',
      message: expect.stringMatching(/imap_folders: "Projects" not found on 127\.0\.0\.1 \(it has "INBOX", /),
    });
  }, 30_000);

  it('refuses a wrong password permanently without repeating it, and stores the password encrypted', async () => {
    const box = await mailbox();
    const row = await accountRow(box.accountId);
    expect(row.imap_password_encrypted).toMatch(/^v1\./);
    expect(row.imap_password_encrypted).not.toContain(box.password);
    const wrong = await mailbox();
    await t.db
      .updateTable('mail_accounts')
      .set({ imap_password_encrypted: row.imap_password_encrypted })
      .where('id', '=', wrong.accountId)
      .execute();
    const error = (await wrong.sync().catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('PermanentError');
    expect(error.message).toMatch(
      /IMAP login to 127\.0\.0\.1:\d+ was refused .*check the account's username and password/,
    );
    expect(error.message).not.toContain(box.password);
  }, 30_000);

  it('keeps to the connection limit per host, and waits when the server refuses more connections', async () => {
    const relay = await startRelay(dovecot);
    try {
      const provider = new ImapProvider({ pageSize: 2, timeoutMs: 10_000, maxConnectionsPerHost: 1, allow });
      const boxes = await Promise.all([1, 2, 3].map(() => mailbox({ host: relay.host, port: relay.port, provider })));
      for (const b of boxes)
        for (let i = 0; i < 3; i++)
          await dovecot.deliver(
            b.user,
            'INBOX',
            mail({ from: `f${i}@client.test`, to: b.user, subject: `f${i}`, body: 'x' }),
          );
      const results = await Promise.all(boxes.map((b) => b.sync()));
      expect(results.map((r) => r.emails_synced)).toEqual([3, 3, 3]);
      expect(relay.maxOpen).toBe(1);
    } finally {
      await relay.close();
    }

    // Dovecot allows 3 connections per user here: a 4th is turned away, and the job waits.
    const box = await mailbox();
    const held = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = new ImapFlow({
          host: dovecot.host,
          port: dovecot.port,
          secure: false,
          doSTARTTLS: false,
          auth: { user: box.user, pass: box.password },
          logger: false,
        });
        c.on('error', () => {});
        await c.connect();
        return c;
      }),
    );
    try {
      const error = await box.sync().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryLaterError);
      expect((error as RetryLaterError).message).toMatch(
        /refused the connection for now \(.*[Mm]aximum number of connections/,
      );
    } finally {
      await Promise.all(held.map((c) => c.logout().catch(() => c.close())));
    }
  }, 30_000);
});

/** A TCP listener on loopback that counts the connections made to it and answers nothing. */
async function countingListener() {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('IMAP hosts a tenant chose', () => {
  it('refuses a loopback or private IMAP host without connecting, naming IMAP_ALLOWED_HOSTS', async () => {
    const listener = await countingListener();
    try {
      const workspaceId = await createWorkspace(t.db);
      const accountId = await addImapAccount(t.db, testKey, {
        workspaceId,
        emailAddress: `probe-${randomBytes(3).toString('hex')}@acme.test`,
        host: '127.0.0.1',
        port: listener.port,
        security: 'none',
        password: 'pw',
      });
      const sync = (provider: ImapProvider) =>
        syncAccount(
          t.db,
          { providers: [provider], encryptionKey: testKey, fullSyncLookbackDays: 36_500 },
          { workspaceId, accountId },
          { log: silentLog },
        ).then(
          () => new Error('expected the host to be refused'),
          (e: unknown) => e as Error,
        );

      const loopback = await sync(new ImapProvider({ timeoutMs: 5_000 }));
      expect(loopback).toBeInstanceOf(PermanentError);
      expect(loopback.message).toBe(
        'imap_host: 127.0.0.1 refused: 127.0.0.1 is a loopback address (rule: loopback); ' +
          'IMAP_ALLOWED_HOSTS opens the host names and CIDRs it lists (and then only those)',
      );
      // An allowlist that names other hosts does not open this one either.
      const elsewhere = await sync(new ImapProvider({ timeoutMs: 5_000, allow: parseAllowlist(['10.9.0.0/16']) }));
      expect(elsewhere.message).toMatch(/127\.0\.0\.1 is not in IMAP_ALLOWED_HOSTS \(rule: allowlist\)/);
      expect(listener.connections()).toBe(0);

      // A name is judged by what it resolves to.
      await t.db
        .updateTable('mail_accounts')
        .set({ imap_host: 'mail.acme.test', imap_security: 'tls' })
        .where('id', '=', accountId)
        .execute();
      const lookup = async () => [{ address: '10.1.2.3', family: 4 }];
      const named = await sync(new ImapProvider({ timeoutMs: 5_000, lookup }));
      expect(named).toBeInstanceOf(PermanentError);
      expect(named.message).toMatch(
        /^imap_host: mail\.acme\.test refused: mail\.acme\.test resolves to 10\.1\.2\.3, a private \(RFC 1918\) address/,
      );
    } finally {
      await listener.close();
    }
  });
});
