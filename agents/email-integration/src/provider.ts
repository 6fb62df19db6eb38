/**
 * What the sync needs from a mailbox, whatever serves it (Gmail's REST API, an IMAP server).
 * Providers speak in raw message ids and parsed messages; storage is not their business.
 */
import type { Logger } from 'pino';

/** A message after header and body parsing, ready to store. */
export interface ParsedEmail {
  /** The provider's id of the message (Gmail message id): the deduplication key. */
  providerMessageId: string;
  providerThreadId: string;
  /** RFC 5322 Message-ID without angle brackets, when present. */
  rfcMessageId: string | null;
  /** First id of In-Reply-To, without angle brackets. */
  inReplyTo: string | null;
  /** The sender (From, else Sender, else Return-Path); null when the message names none. */
  from: { address: string; name: string | null } | null;
  to: Array<{ address: string; name: string | null }>;
  cc: Array<{ address: string; name: string | null }>;
  subject: string | null;
  snippet: string | null;
  /** Plain text body: text/plain preferred, otherwise HTML converted to text. */
  bodyText: string | null;
  labels: string[];
  sentAt: Date;
}

/** A message the provider returned that could not be parsed; reported, not stored. */
export interface MessageFailure {
  id: string;
  reason: string;
}

/** One page of message ids to fetch, and whether more pages follow. */
export interface IdPage {
  messageIds: string[];
  nextPageToken: string | null;
}

/** Result of fetching a batch of messages by id. */
export interface FetchedMessages {
  emails: ParsedEmail[];
  failures: MessageFailure[];
  /** Ids the provider no longer has (deleted between listing and fetching). */
  gone: string[];
}

/** Options shared by provider calls: the job's AbortSignal and logger. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Where parsing reports what it had to cut or guess. */
  log?: Logger;
  /** Registers a credential the provider obtains (an OAuth access token) with the scrubber. */
  registerSecret?: (value: string) => void;
}

/** A connected mailbox for the length of one sync. */
export interface MailSession {
  /** The mailbox's current cursor (Gmail historyId), read before a full sync lists messages. */
  currentCursor(opts?: CallOptions): Promise<string>;
  /** A page of ids of messages received after `since` (all when null). */
  listMessages(since: Date | null, pageToken: string | null, opts?: CallOptions): Promise<IdPage>;
  /**
   * A page of ids of messages added since `cursor`, and the cursor to store once they are saved.
   * Throws {@link CursorExpiredError} when the provider no longer knows the cursor.
   */
  listChangesSince(cursor: string, pageToken: string | null, opts?: CallOptions): Promise<IdPage & { cursor: string }>;
  /** Fetches and parses messages; parse failures and vanished messages are reported, not thrown. */
  getMessages(ids: string[], opts?: CallOptions): Promise<FetchedMessages>;
  /** Ends the session (logs out, frees its connection); called once the sync is done or failed. */
  close?(): Promise<void>;
}

/** Where an IMAP account's mail is and how to log in (the password travels in `secret`). */
export interface ImapServer {
  host: string;
  port: number;
  /** Implicit TLS, STARTTLS, or plain text (loopback hosts only). */
  security: 'tls' | 'starttls' | 'none';
  username: string;
  /** Folders to sync; null = INBOX and the folder the server marks \Sent. */
  folders: string[] | null;
}

/** What a provider needs to open an account's mailbox. */
export interface AccountAccess {
  id: string;
  emailAddress: string;
  /** The decrypted credential: Gmail's OAuth refresh token, or the IMAP password. */
  secret: string;
  imap: ImapServer | null;
}

/** A mail provider (`mail_accounts.provider` names it): opens a session for an account. */
export interface MailProvider {
  readonly name: string;
  openSession(account: AccountAccess, opts?: CallOptions): Promise<MailSession>;
}

/** The stored cursor is too old for incremental sync; the caller falls back to a full sync. */
export class CursorExpiredError extends Error {
  override name = 'CursorExpiredError';
}

/**
 * The provider refused the account's credentials (revoked refresh token, wrong client, a fresh
 * access token rejected). Retrying will not help until someone reconnects the account.
 */
export class MailAuthError extends Error {
  override name = 'MailAuthError';
}
