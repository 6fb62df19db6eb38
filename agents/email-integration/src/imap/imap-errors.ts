/**
 * What an imapflow failure means for a sync: the login refused (permanent until someone fixes
 * the password), the server refusing more connections (wait, without spending an attempt), the
 * connection lost (reconnect), or anything else (an ordinary retryable failure).
 */
import { RetryLaterError } from '@fleet/runtime';
import { MailAuthError } from '../provider.ts';

interface ImapFailure {
  code?: string;
  authenticationFailed?: boolean;
  serverResponseCode?: string;
  responseStatus?: string;
  responseText?: string;
  message?: string;
}

/** How long to wait when a server refuses more connections from us. */
export const BUSY_RETRY_MS = 60_000;

const TEMPORARY_CODES = new Set(['UNAVAILABLE', 'LIMIT', 'INUSE', 'OVERQUOTA']);
const BUSY_TEXT = /too many|maximum number of connections|connection limit|try again later/i;
const LOST_CODES = new Set([
  'NoConnection',
  'EConnectionClosed',
  'ETIMEOUT',
  'ECONNRESET',
  'EPIPE',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
]);

/** The connection went away mid-command (not a refusal by the server). */
export function isConnectionLost(err: unknown): boolean {
  const e = err as ImapFailure | null;
  return !!e && !e.responseStatus && LOST_CODES.has(e.code ?? '');
}

/** Maps a failure to connect or log in to the error the sync acts on. */
export function connectError(err: unknown, server: string): Error {
  const e = (err ?? {}) as ImapFailure;
  const text = (e.responseText ?? e.message ?? String(err)).replace(/\s*\[[^\]]*\d{2}:\d{2}:\d{2}\]\s*$/, '');
  if (TEMPORARY_CODES.has(e.serverResponseCode ?? '') || BUSY_TEXT.test(text)) {
    return new RetryLaterError(
      `IMAP server ${server} refused the connection for now (${text}); retrying in ${BUSY_RETRY_MS / 1000} s`,
      BUSY_RETRY_MS,
    );
  }
  if (e.authenticationFailed) {
    return new MailAuthError(
      `IMAP login to ${server} was refused (${text}); check the account's username and password`,
    );
  }
  return new Error(`IMAP connection to ${server} failed: ${text}`, { cause: err });
}
