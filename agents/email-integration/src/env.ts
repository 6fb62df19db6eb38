import { nonNegativeNumber, positiveInt } from '@fleet/config';
import { allowlistSetting } from '@fleet/safe-fetch';
import { z } from 'zod';
import { EncryptionKeyError, parseEncryptionKey } from './token-crypto.ts';

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an http(s) URL' });

/** The agent's environment variables (parsed by the runtime together with its own). */
export const emailIntegrationEnv = {
  // Google OAuth client of the app the accounts granted access to
  GOOGLE_CLIENT_ID: z.string({ error: 'is required (OAuth client id)' }).min(1, 'must not be empty'),
  GOOGLE_CLIENT_SECRET: z.string({ error: 'is required (OAuth client secret)' }).min(1, 'must not be empty'),
  /** Token endpoint of the refresh-token grant. */
  GOOGLE_OAUTH_TOKEN_URL: httpUrl.default('https://oauth2.googleapis.com/token'),
  /** Gmail REST API root including the version; /users/me/... is appended. */
  GMAIL_API_BASE_URL: httpUrl.default('https://gmail.googleapis.com/gmail/v1'),

  /** 32-byte AES-256-GCM key (64 hex chars or base64) that encrypts refresh tokens and IMAP passwords at rest. */
  MAIL_TOKEN_ENCRYPTION_KEY: z.string({ error: 'is required (32 bytes, base64 or hex)' }).transform((v, ctx) => {
    try {
      return parseEncryptionKey(v);
    } catch (error) {
      if (!(error instanceof EncryptionKeyError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message.replace(/^MAIL_TOKEN_ENCRYPTION_KEY /, '') });
      return z.NEVER;
    }
  }),

  // Sync behaviour
  /** Messages per list page (Gmail allows 1-500); each page is one transaction. */
  MAIL_SYNC_PAGE_SIZE: positiveInt.max(500, 'must be at most 500').default(100),
  /** messages.get requests in flight at once per job. */
  MAIL_FETCH_CONCURRENCY: positiveInt.max(50, 'must be at most 50').default(8),
  /** A full sync without `since` goes back this many days. */
  MAIL_FULL_SYNC_LOOKBACK_DAYS: positiveInt.default(90),
  /** Rate-limit waits up to this long happen inside the job; longer ones delay the job instead. */
  MAIL_MAX_INLINE_WAIT_MS: positiveInt.default(5_000),
  /** Cap on one HTTP round trip to Google. */
  MAIL_HTTP_TIMEOUT_MS: positiveInt.default(30_000),

  // IMAP accounts
  /** IMAP connections open at once to one server host from one process (servers cap them per user and IP). */
  /**
   * Host names and CIDRs an account's IMAP host may resolve into although they are loopback,
   * private or link-local (a mail server on the operator's own network); when set, only these.
   */
  IMAP_ALLOWED_HOSTS: allowlistSetting.optional(),
  IMAP_MAX_CONNECTIONS_PER_HOST: positiveInt.max(50, 'must be at most 50').default(4),
  /** Cap on connecting, the greeting, and any silence of the server mid-command. */
  IMAP_TIMEOUT_MS: positiveInt.default(30_000),
  /** Reconnections one sync may make after its connection dropped, before it fails (and is retried). */
  IMAP_MAX_RECONNECTS: nonNegativeNumber.int('must be a whole number').max(10, 'must be at most 10').default(2),
};

export type EmailIntegrationEnv = z.output<z.ZodObject<typeof emailIntegrationEnv>>;
