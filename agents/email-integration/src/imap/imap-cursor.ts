/**
 * The sync cursor of an IMAP account, stored in `mail_accounts.history_id` like Gmail's history
 * id: per folder, the UIDVALIDITY the UIDs belong to, the UIDNEXT seen (every message added
 * later gets a UID at or above it) and, where the server supports CONDSTORE, HIGHESTMODSEQ (an
 * unchanged one means nothing changed in the folder, so it is not even searched).
 */
import { CursorExpiredError } from '../provider.ts';

export interface FolderCursor {
  /** Decimal string: UIDVALIDITY is an unsigned 32-bit number, kept exact. */
  uidValidity: string;
  uidNext: number;
  /** Decimal string (a 63-bit number), absent without CONDSTORE. */
  modseq?: string;
}

export interface ImapCursor {
  v: 1;
  folders: Record<string, FolderCursor>;
}

export function formatCursor(cursor: ImapCursor): string {
  return JSON.stringify(cursor);
}

/** Reads a stored cursor; anything else (a Gmail history id, damage) expires it. */
export function parseCursor(stored: string): ImapCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    throw new CursorExpiredError('the stored cursor is not an IMAP cursor');
  }
  const c = parsed as Partial<ImapCursor> | null;
  if (c?.v !== 1 || typeof c.folders !== 'object' || c.folders === null) {
    throw new CursorExpiredError('the stored cursor is not an IMAP cursor');
  }
  for (const [path, f] of Object.entries(c.folders)) {
    if (typeof f?.uidValidity !== 'string' || !Number.isInteger(f.uidNext)) {
      throw new CursorExpiredError(`the stored cursor of folder ${path} is damaged`);
    }
  }
  return c as ImapCursor;
}
