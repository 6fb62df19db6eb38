import { randomBytes } from 'node:crypto';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import agentDefinition from '../src/index.ts';
import { addMailAccount } from '../src/mail-accounts.ts';
import { message } from './fixtures.ts';
import { GmailStub } from './gmail-stub.ts';
import { ACCOUNT, createWorkspace, deliverStandardMailbox } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let stub: GmailStub;
let producer: Producer;
let agent: RunningAgent;
const key = randomBytes(32);

beforeAll(async () => {
  t = await createTestDatabase('email_e2e');
  r = createTestRedis('email-e2e');
  stub = new GmailStub();
  await stub.start();
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(agentDefinition, {
    env: {
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      LOG_PRETTY: 'false',
      METRICS_PROCESS: 'false',
      GOOGLE_CLIENT_ID: stub.clientId,
      GOOGLE_CLIENT_SECRET: stub.clientSecret,
      GOOGLE_OAUTH_TOKEN_URL: stub.tokenUrl,
      GMAIL_API_BASE_URL: stub.apiBaseUrl,
      MAIL_TOKEN_ENCRYPTION_KEY: key.toString('base64'),
      MAIL_SYNC_PAGE_SIZE: '2',
      MAIL_FULL_SYNC_LOOKBACK_DAYS: '36500',
      // A Retry-After longer than this defers the job instead of waiting inside it.
      MAIL_MAX_INLINE_WAIT_MS: '200',
    },
  });
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await stub?.stop();
  await r.cleanup();
  await t.drop();
});

async function newAccount(): Promise<{ workspaceId: string; accountId: string; refreshToken: string }> {
  const refreshToken = `1//e2e-${randomBytes(6).toString('hex')}`;
  stub.validRefreshTokens.add(refreshToken);
  const workspaceId = await createWorkspace(t.db);
  const accountId = await addMailAccount(t.db, key, { workspaceId, emailAddress: ACCOUNT, refreshToken });
  return { workspaceId, accountId, refreshToken };
}

const rowsOf = (jobId: string) =>
  t.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();

describe('email-integration through its queue', () => {
  it('syncs a mailbox and records a completed audit row with the sync counts', async () => {
    deliverStandardMailbox(stub);
    const { workspaceId, accountId, refreshToken } = await newAccount();

    const { jobId } = await producer.enqueue('email_integration_queue', 'email_sync', {
      workspace_id: workspaceId,
      account_id: accountId,
    });
    const [row] = await waitFor(
      async () => {
        const rows = await rowsOf(jobId);
        return rows[0]?.status === 'completed' ? rows : undefined;
      },
      { what: 'completed email_sync row', timeoutMs: 15_000 },
    );

    expect(row).toMatchObject({
      task_type: 'email_sync',
      agent_name: 'email-integration',
      queue_name: 'email_integration_queue',
      workspace_id: workspaceId,
      attempt: 1,
    });
    expect(row!.output_data).toMatchObject({ emails_synced: 5, new_contacts: 4, pages: 3, full_sync: true });
    const stored = await t.db
      .selectFrom('emails')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(5);
    // the refresh token appears nowhere in the audit trail
    expect(JSON.stringify(await rowsOf(jobId))).not.toContain(refreshToken);
  });

  it('defers a job on a long Retry-After without spending an attempt, then completes it', async () => {
    const { workspaceId, accountId } = await newAccount();
    // The first messages.list answers 429 with a Retry-After above the inline limit.
    stub.inject('/gmail/v1/users/me/messages', { status: 429, headers: { 'retry-after': '1' } });

    const { jobId } = await producer.enqueue('email_integration_queue', 'email_sync', {
      workspace_id: workspaceId,
      account_id: accountId,
    });
    const rows = await waitFor(
      async () => {
        const all = await rowsOf(jobId);
        return all.some((x) => x.status === 'completed') ? all : undefined;
      },
      { what: 'deferred job to complete', timeoutMs: 15_000 },
    );

    expect(rows.map((x) => x.status)).toEqual(['failed', 'completed']);
    expect(rows[0]!.error_message).toMatch(/^deferred 1s: .*rate limited by Google \(429\)/);
    // The audit row commits before BullMQ marks the job completed: wait for BullMQ too. It counts
    // the completion as one attempt made; the deferral spent none.
    const job = await waitFor(async () => {
      const j = await producer.queue('email_integration_queue').getJob(jobId);
      return (await j?.isCompleted()) ? j : undefined;
    });
    expect(job.attemptsMade).toBe(1);
    expect(rows[1]!.output_data).toMatchObject({ full_sync: true, full_sync_reason: 'no_cursor' });
  });

  it('records partial_failure with the ids of messages that could not be parsed', async () => {
    const { workspaceId, accountId } = await newAccount();
    // First sync to set the cursor, then a malformed message arrives.
    const first = await producer.enqueue('email_integration_queue', 'email_sync', {
      workspace_id: workspaceId,
      account_id: accountId,
    });
    await waitFor(async () => (await rowsOf(first.jobId))[0]?.status === 'completed', { what: 'first sync' });
    const bad = message({ id: 'broken-1', from: 'x@x.test', to: ACCOUNT, minute: 500, text: 'x' });
    bad.payload!.parts![0]!.body!.data = '***not base64***';
    stub.deliver(bad);

    const { jobId } = await producer.enqueue('email_integration_queue', 'email_sync', {
      workspace_id: workspaceId,
      account_id: accountId,
    });
    const [row] = await waitFor(
      async () => {
        const all = await rowsOf(jobId);
        return all[0]?.status === 'partial_failure' ? all : undefined;
      },
      { what: 'partial_failure row' },
    );
    expect(row!.output_data).toMatchObject({
      full_sync: false,
      failed_count: 1,
      failed_messages: [{ id: 'broken-1', reason: expect.stringMatching(/not valid base64url/) }],
    });
    expect(row!.error_message).toMatch(/1 message\(s\) could not be parsed: broken-1/);
  });

  it('fails a job for an unknown account without retrying it', async () => {
    const workspaceId = await createWorkspace(t.db);
    const { jobId } = await producer.enqueue('email_integration_queue', 'email_sync', {
      workspace_id: workspaceId,
      account_id: '00000000-0000-4000-8000-000000000000',
    });
    const [row] = await waitFor(
      async () => {
        const all = await rowsOf(jobId);
        return all[0]?.status === 'failed' ? all : undefined;
      },
      { what: 'failed row' },
    );
    expect(row!.error_message).toMatch(/account_id: mail account .* not found/);
    const job = await waitFor(async () => {
      const j = await producer.queue('email_integration_queue').getJob(jobId);
      return (await j?.isFailed()) ? j : undefined;
    });
    expect(job.attemptsMade).toBe(1);
  });
});
