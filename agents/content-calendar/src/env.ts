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
export const contentCalendarEnv = {
  /**
   * The key that encrypts credentials at rest, shared with email-integration: CalDAV passwords
   * are stored like mail tokens (32 bytes, 64 hex chars or base64).
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
   * Comma-separated host names, addresses and CIDRs (`dav.internal,10.20.0.0/16`) that calendar
   * URLs may reach. Unset: any host whose every address is public; loopback, private,
   * link-local (cloud metadata), CGNAT and other special-purpose addresses are refused.
   * Set: only what it names, whatever their addresses.
   */
  CALDAV_ALLOWED_HOSTS: allowlist.optional(),
  /** Cap on one CalDAV request. */
  CALDAV_TIMEOUT_MS: positiveInt.default(30_000),
};

export type ContentCalendarEnv = z.output<z.ZodObject<typeof contentCalendarEnv>>;
