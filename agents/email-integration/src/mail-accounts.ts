/**
 * Mail accounts: adding one with its refresh token encrypted, loading one for a sync.
 */
import type { Database, MailAccount } from '@fleet/db';
import type { Kysely } from 'kysely';
import { encryptToken } from './token-crypto.ts';

export { parseEncryptionKey } from './token-crypto.ts';

export interface NewMailAccount {
  workspaceId: string;
  emailAddress: string;
  /** The OAuth refresh token in plain text; only its ciphertext is stored. */
  refreshToken: string;
  provider?: string;
}

/**
 * Adds a mail account, or replaces the refresh token of an existing one (same workspace,
 * provider and address), reactivating it. Returns the account id.
 */
export async function addMailAccount(db: Kysely<Database>, key: Buffer, account: NewMailAccount): Promise<string> {
  const emailAddress = account.emailAddress.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(emailAddress))
    throw new Error(`emailAddress: "${account.emailAddress}" is not an address`);
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
