import { randomBytes } from 'node:crypto';
import { parseEnv } from '@fleet/config';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { emailIntegrationEnv } from '../src/env.ts';
import { addMailAccount } from '../src/mail-accounts.ts';
import { decryptToken, encryptToken, parseEncryptionKey, TokenDecryptionError } from '../src/token-crypto.ts';
import { createWorkspace } from './helpers.ts';

describe('encryption key', () => {
  it('accepts 32 bytes as hex or base64 and nothing else', () => {
    const key = randomBytes(32);
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64url'))).toEqual(key);
    expect(() => parseEncryptionKey(undefined)).toThrow(/MAIL_TOKEN_ENCRYPTION_KEY is required/);
    expect(() => parseEncryptionKey(randomBytes(16).toString('base64'))).toThrow(/exactly 32 bytes.*got 16 bytes/);
    expect(() => parseEncryptionKey('not a key!')).toThrow(/exactly 32 bytes/);
  });

  it('makes a missing or bad key a startup error naming the variable', () => {
    const base = { GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' };
    const schema = z.object(emailIntegrationEnv);
    expect(() => parseEnv('email-integration', schema, base)).toThrow(/MAIL_TOKEN_ENCRYPTION_KEY: is required/);
    expect(() => parseEnv('email-integration', schema, { ...base, MAIL_TOKEN_ENCRYPTION_KEY: 'abc' })).toThrow(
      /MAIL_TOKEN_ENCRYPTION_KEY: must be exactly 32 bytes/,
    );
    const key = randomBytes(32);
    const env = parseEnv('email-integration', schema, { ...base, MAIL_TOKEN_ENCRYPTION_KEY: key.toString('hex') });
    expect(env.MAIL_TOKEN_ENCRYPTION_KEY).toEqual(key);
    expect(env.GMAIL_API_BASE_URL).toBe('https://gmail.googleapis.com/gmail/v1');
  });
});

describe('token encryption', () => {
  const key = randomBytes(32);

  it('round-trips and uses a fresh IV each time', () => {
    const a = encryptToken(key, '1//refresh-token');
    const b = encryptToken(key, '1//refresh-token');
    expect(a).not.toBe(b);
    expect(a).not.toContain('refresh');
    expect(decryptToken(key, a)).toBe('1//refresh-token');
  });

  it('refuses a wrong key, a tampered value and plain text', () => {
    const stored = encryptToken(key, 'secret-token');
    expect(() => decryptToken(randomBytes(32), stored)).toThrow(TokenDecryptionError);
    const parts = stored.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    parts[3] = ct.toString('base64url');
    expect(() => decryptToken(key, parts.join('.'))).toThrow(/could not be decrypted/);
    expect(() => decryptToken(key, 'secret-token')).toThrow(/not in the v1 encrypted format/);
  });
});

describe('addMailAccount', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('mail_accounts');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('stores only the ciphertext and replaces the token of an existing account', async () => {
    const key = randomBytes(32);
    const workspaceId = await createWorkspace(t.db);
    const id = await addMailAccount(t.db, key, { workspaceId, emailAddress: ' Me@Acme.test ', refreshToken: 'tok-1' });
    const again = await addMailAccount(t.db, key, { workspaceId, emailAddress: 'me@acme.test', refreshToken: 'tok-2' });
    expect(again).toBe(id);
    const row = await t.db.selectFrom('mail_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.email_address).toBe('me@acme.test');
    expect(row.refresh_token_encrypted).not.toContain('tok-');
    expect(decryptToken(key, row.refresh_token_encrypted!)).toBe('tok-2');
    await expect(addMailAccount(t.db, key, { workspaceId, emailAddress: 'nope', refreshToken: 'x' })).rejects.toThrow(
      /emailAddress/,
    );
  });
});
