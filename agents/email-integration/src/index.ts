import { defineAgent } from '@fleet/runtime';
import { emailIntegrationEnv } from './env.ts';
import { GmailHttpProvider } from './gmail/gmail-provider.ts';
import { ImapProvider } from './imap/imap-provider.ts';
import { syncAccount } from './sync-account.ts';

/** email_integration_queue worker: one mail account (Gmail or IMAP) per job, synced incrementally when possible. */
export default defineAgent({
  name: 'email-integration',
  queue: 'email_integration_queue',
  // Jobs mostly wait on Gmail or an IMAP server; a few accounts at once per process stays well
  // under Gmail's quotas, and IMAP connections per server are capped on top of that.
  concurrency: 4,
  env: emailIntegrationEnv,
  setup({ env }) {
    return {
      encryptionKey: env.MAIL_TOKEN_ENCRYPTION_KEY,
      fullSyncLookbackDays: env.MAIL_FULL_SYNC_LOOKBACK_DAYS,
      providers: [
        new GmailHttpProvider({
          apiBaseUrl: env.GMAIL_API_BASE_URL,
          tokenUrl: env.GOOGLE_OAUTH_TOKEN_URL,
          clientId: env.GOOGLE_CLIENT_ID,
          clientSecret: env.GOOGLE_CLIENT_SECRET,
          pageSize: env.MAIL_SYNC_PAGE_SIZE,
          fetchConcurrency: env.MAIL_FETCH_CONCURRENCY,
          retry: { maxInlineWaitMs: env.MAIL_MAX_INLINE_WAIT_MS, requestTimeoutMs: env.MAIL_HTTP_TIMEOUT_MS },
        }),
        new ImapProvider({
          pageSize: env.MAIL_SYNC_PAGE_SIZE,
          maxConnectionsPerHost: env.IMAP_MAX_CONNECTIONS_PER_HOST,
          maxReconnects: env.IMAP_MAX_RECONNECTS,
          timeoutMs: env.IMAP_TIMEOUT_MS,
          ...(env.IMAP_ALLOWED_HOSTS ? { allow: env.IMAP_ALLOWED_HOSTS } : {}),
        }),
      ],
    };
  },
  handlers: {
    async email_sync(payload, ctx) {
      const result = await syncAccount(
        ctx.db,
        ctx.deps,
        {
          workspaceId: payload.workspace_id,
          accountId: payload.account_id,
          since: payload.since ? new Date(payload.since) : undefined,
        },
        {
          log: ctx.log,
          signal: ctx.signal,
          progress: (value) => ctx.progress(value),
          registerSecret: ctx.registerSecret,
        },
      );
      const output = { ...result, failed_messages: result.failed_messages.map((f) => ({ ...f })) };
      if (result.failed_count === 0) return { output };
      return {
        output,
        status: 'partial_failure',
        error: `${result.failed_count} message(s) could not be parsed: ${result.failed_messages
          .slice(0, 5)
          .map((f) => f.id)
          .join(', ')}${result.failed_count > 5 ? ', ...' : ''}`,
      };
    },
  },
});
