/**
 * Mail accounts: adding one with its credential encrypted (a Gmail refresh token, an IMAP
 * password), loading one for a sync, and what a provider needs to open it.
 */
import type { Database, MailAccount } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { isLoopbackHost } from '@fleet/safe-fetch';
import type { Kysely } from 'kysely';
import type { AccountAccess, ImapServer } from './provider.ts';
import { decryptToken, encryptToken, TokenDecryptionError } from './token-crypto.ts';

export { parseEncryptionKey } from './token-crypto.ts';

export interface NewMailAccount {
  workspaceId: string;
  emailAddress: string;
  /** The OAuth refresh token in plain text; only its ciphertext is stored. */
  refreshToken: string;
  provider?: string;
}

function normaliseAddress(emailAddress: string): string {
  const address = emailAddress.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) throw new Error(`emailAddress: "${emailAddress}" is not an address`);
  return address;
}

/**
 * Adds a mail account, or replaces the refresh token of an existing one (same workspace,
 * provider and address), reactivating it. Returns the account id.
 */
export async function addMailAccount(db: Kysely<Database>, key: Buffer, account: NewMailAccount): Promise<string> {
  const emailAddress = normaliseAddress(account.emailAddress);
  if (account.refreshToken.trim() === '') throw new Error('refreshToken: must not be empty');
  const refresh_token_encrypted = encryptToken(key, account.refreshToken);
  const row = await db
    .insertInto('mail_accounts')
    .values({
      workspace_id: account.workspaceId,
      provider: account.provider ?? 'gmail',
      email_address: emailAddress,
      refresh_token_encrypted,
    })
    .onConflict((oc) =>
      oc
        .columns(['workspace_id', 'provider', 'email_address'])
        .doUpdateSet({ refresh_token_encrypted, is_active: true }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface NewImapAccount {
  workspaceId: string;
  emailAddress: string;
  host: string;
  /** Default: 993 with implicit TLS, 143 otherwise. */
  port?: number;
  /** Default 'tls'. 'none' only for loopback hosts (a local bridge, a test server). */
  security?: ImapServer['security'];
  /** Login name; default the email address. */
  username?: string;
  /** In plain text; only its ciphertext is stored. */
  password: string;
  /** Default: INBOX and the \Sent folder. */
  folders?: string[];
}

/**
 * Adds an IMAP account, or replaces the server settings and password of an existing one (same
 * workspace and address), reactivating it. Returns the account id; bad input throws an error
 * naming the field.
 */
export async function addImapAccount(db: Kysely<Database>, key: Buffer, account: NewImapAccount): Promise<string> {
  const emailAddress = normaliseAddress(account.emailAddress);
  const host = account.host.trim();
  if (!/^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:.]+\]?$/.test(host))
    throw new Error(`host: "${account.host}" is not a host name`);
  const security = account.security ?? 'tls';
  if (!['tls', 'starttls', 'none'].includes(security)) throw new Error(`security: must be tls, starttls or none`);
  if (security === 'none' && !isLoopbackHost(host)) {
    throw new Error(`security: "none" sends the password in clear text; allowed for loopback hosts only, not ${host}`);
  }
  const port = account.port ?? (security === 'tls' ? 993 : 143);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port: ${account.port} is not a TCP port`);
  if (account.password === '') throw new Error('password: must not be empty');
  const folders = account.folders?.map((f) => f.trim());
  if (folders?.some((f) => f === '')) throw new Error('folders: folder names must not be empty');
  const values = {
    imap_host: host,
    imap_port: port,
    imap_security: security,
    imap_username: account.username?.trim() || null,
    imap_password_encrypted: encryptToken(key, account.password),
    imap_folders: folders && folders.length > 0 ? folders : null,
  };
  const row = await db
    .insertInto('mail_accounts')
    .values({ workspace_id: account.workspaceId, provider: 'imap', email_address: emailAddress, ...values })
    // New server or folders: the old cursor may not describe them, so the next sync starts over.
    .onConflict((oc) =>
      oc
        .columns(['workspace_id', 'provider', 'email_address'])
        .doUpdateSet({ ...values, is_active: true, history_id: null }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The account with this id in this workspace, or undefined. */
export async function findMailAccount(
  db: Kysely<Database>,
  workspaceId: string,
  accountId: string,
): Promise<MailAccount | undefined> {
  return db
    .selectFrom('mail_accounts')
    .selectAll()
    .where('id', '=', accountId)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
}

/** The account's decrypted credential and server; PermanentError when it cannot be used. */
export function accountAccess(account: MailAccount, key: Buffer): AccountAccess {
  const imap = account.provider === 'imap';
  const stored = imap ? account.imap_password_encrypted : account.refresh_token_encrypted;
  if (!stored) {
    throw new PermanentError(
      `mail account ${account.id} has no ${imap ? 'IMAP password' : 'refresh token'}; connect the account first`,
    );
  }
  let secret: string;
  try {
    secret = decryptToken(key, stored);
  } catch (error) {
    if (error instanceof TokenDecryptionError)
      throw new PermanentError(`mail account ${account.id}: ${error.message}`, { cause: error });
    throw error;
  }
  return {
    id: account.id,
    emailAddress: account.email_address,
    secret,
    imap:
      imap && account.imap_host && account.imap_port && account.imap_security
        ? {
            host: account.imap_host,
            port: account.imap_port,
            security: account.imap_security,
            username: account.imap_username ?? account.email_address,
            folders: account.imap_folders,
          }
        : null,
  };
}
