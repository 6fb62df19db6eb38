import { randomBytes } from 'node:crypto';
import type { Database } from '@fleet/db';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { GmailHttpProvider } from '../src/gmail/gmail-provider.ts';
import { addMailAccount } from '../src/mail-accounts.ts';
import { type SyncRequest, syncAccount } from '../src/sync-account.ts';
import { message } from './fixtures.ts';
import { GmailStub } from './gmail-stub.ts';

export const ACCOUNT = 'me@acme.test';
export const silentLog = pino({ level: 'silent' });
export const testKey = randomBytes(32);

export async function createWorkspace(db: Kysely<Database>): Promise<string> {
  const org = await db.insertInto('organizations').values({ name: 'Acme' }).returning('id').executeTakeFirstOrThrow();
  const ws = await db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'Sales' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return ws.id;
}

/**
 * The standard mailbox: a thread with Alice (her message and our reply), an HTML-only message
 * with an encoded sender name, a message with an attachment, a message from Dave, and spam.
 */
export function deliverStandardMailbox(stub: GmailStub): void {
  stub.deliver(
    message({
      id: 'm1',
      threadId: 't1',
      from: 'Alice Smith <Alice@Client.test>',
      to: ACCOUNT,
      subject: 'Proposal',
      minute: 0,
      text: "Hi, here's our proposal.",
      html: '<p>Hi, <b>here</b> is the HTML version.</p>',
      messageId: 'm1@client.test',
    }),
  );
  stub.deliver(
    message({
      id: 'm2',
      threadId: 't1',
      from: `Me <${ACCOUNT}>`,
      to: 'alice@client.test',
      cc: 'Bob <bob@client.test>',
      subject: 'Re: Proposal',
      minute: 30,
      html: '<html><head><style>p{color:red}</style></head><body><p>Thanks Alice,</p><p>looks <a href="https://x.test">good</a>.</p></body></html>',
      labels: ['SENT'],
      messageId: 'm2@acme.test',
      inReplyTo: 'm1@client.test',
    }),
  );
  stub.deliver(
    message({
      id: 'm3',
      threadId: 't3',
      from: '=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <carol@other.test>',
      to: ACCOUNT,
      subject: '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
      minute: 60,
      html: '<div>Only <i>HTML</i> here<br>second line</div>',
    }),
  );
  stub.deliver(
    message({
      id: 'm4',
      threadId: 't4',
      from: 'alice@client.test',
      to: ACCOUNT,
      subject: 'Contract',
      minute: 90,
      text: 'Contract attached.',
      extraParts: [
        {
          partId: '1',
          mimeType: 'text/plain',
          filename: 'notes.txt',
          headers: [{ name: 'Content-Disposition', value: 'attachment; filename="notes.txt"' }],
          body: { attachmentId: 'att-1', size: 1234 },
        },
      ],
    }),
  );
  stub.deliver(
    message({ id: 'm5', threadId: 't5', from: 'Dave <dave@vendor.test>', to: ACCOUNT, minute: 120, text: 'Invoice' }),
  );
  stub.deliver(
    message({ id: 'spam1', from: 'x@spam.test', to: ACCOUNT, minute: 125, text: 'buy now', labels: ['SPAM'] }),
  );
}

export interface Mailbox {
  stub: GmailStub;
  workspaceId: string;
  accountId: string;
  provider: GmailHttpProvider;
  sync(request?: Partial<SyncRequest>, signal?: AbortSignal): ReturnType<typeof syncAccount>;
  close(): Promise<void>;
}

/** A workspace with one Gmail account whose mailbox is a fresh stub server. */
export async function createMailbox(
  db: Kysely<Database>,
  options: { pageSize?: number; maxInlineWaitMs?: number } = {},
): Promise<Mailbox> {
  const stub = new GmailStub();
  await stub.start();
  const refreshToken = `1//refresh-${randomBytes(6).toString('hex')}`;
  stub.validRefreshTokens.add(refreshToken);
  const workspaceId = await createWorkspace(db);
  const accountId = await addMailAccount(db, testKey, { workspaceId, emailAddress: ACCOUNT, refreshToken });
  const provider = new GmailHttpProvider({
    apiBaseUrl: stub.apiBaseUrl,
    tokenUrl: stub.tokenUrl,
    clientId: stub.clientId,
    clientSecret: stub.clientSecret,
    pageSize: options.pageSize ?? 2,
    fetchConcurrency: 3,
    retry: { baseDelayMs: 10, maxInlineWaitMs: options.maxInlineWaitMs ?? 5_000, requestTimeoutMs: 5_000 },
  });
  return {
    stub,
    workspaceId,
    accountId,
    provider,
    sync: (request = {}, signal) =>
      syncAccount(
        db,
        { providers: [provider], encryptionKey: testKey, fullSyncLookbackDays: 36_500 },
        { workspaceId, accountId, ...request },
        { log: silentLog, signal },
      ),
    close: () => stub.stop(),
  };
}
