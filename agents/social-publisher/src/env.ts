import { EncryptionKeyError, parseEncryptionKey } from '@fleet/agent-email-integration/token-crypto';
import { positiveInt } from '@fleet/config';
import { parseAllowlist } from '@fleet/safe-fetch';
import { z } from 'zod';

/** Comma-separated host names, addresses and CIDRs, checked at start. */
const allowlist = z.string().transform((v, ctx) => {
  try {
    return parseAllowlist(v.split(','));
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** The agent's environment variables (parsed by the runtime together with its own). */
export const socialPublisherEnv = {
  /**
   * The key social_accounts.access_token_encrypted was made with: the same 32-byte AES-256-GCM
   * key as mail accounts' tokens (64 hex chars or base64).
   */
  MAIL_TOKEN_ENCRYPTION_KEY: z.string({ error: 'is required (32 bytes, base64 or hex)' }).transform((v, ctx) => {
    try {
      return parseEncryptionKey(v);
    } catch (error) {
      if (!(error instanceof EncryptionKeyError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message.replace(/^MAIL_TOKEN_ENCRYPTION_KEY /, '') });
      return z.NEVER;
    }
  }),
  /**
   * Comma-separated host names, addresses and CIDRs that platform API calls and image downloads
   * may reach (a self-hosted Mastodon on a private address). Unset: any host whose every address
   * is public. Set: only what it names.
   */
  SOCIAL_ALLOWED_HOSTS: allowlist.optional(),
  /** Cap on one request to a platform (an upload included). */
  SOCIAL_HTTP_TIMEOUT_MS: positiveInt.default(30_000),
  /** Cap on downloading one image; images larger than SOCIAL_MEDIA_MAX_BYTES are refused. */
  SOCIAL_MEDIA_TIMEOUT_MS: positiveInt.default(60_000),
  SOCIAL_MEDIA_MAX_BYTES: positiveInt.default(16 * 1024 * 1024),
  /** Posts published by one job when it publishes everything due. */
  SOCIAL_BATCH_SIZE: positiveInt.max(500, 'must be at most 500').default(50),
};

export type SocialPublisherEnv = z.output<z.ZodObject<typeof socialPublisherEnv>>;
