/** An allowlist setting (MEDIA_ALLOWED_HOSTS, IMAP_ALLOWED_HOSTS): checked when the process starts. */
import { z } from 'zod';
import { parseAllowlist } from './address-rules.ts';

/** Comma-separated host names, addresses and CIDRs; a bad entry is named in the config error. */
export const allowlistSetting = z.string().transform((v, ctx) => {
  try {
    return parseAllowlist(v.split(','));
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
