/**
 * Encryption at rest of OAuth refresh tokens: AES-256-GCM with a 32-byte key from the environment.
 * Stored form: `v1.<iv>.<tag>.<ciphertext>`, each part base64url, so the format can change later
 * (key rotation, another cipher) without guessing what an old row holds.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key could not be read from its variable; the message says how to make a valid one. */
export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

/** A stored token could not be decrypted (wrong key, corrupted or foreign value). */
export class TokenDecryptionError extends Error {
  override name = 'TokenDecryptionError';
}

/**
 * Reads a 32-byte key written as 64 hex characters or as base64/base64url (44 characters with
 * padding). Anything else is an error: there is no plaintext fallback.
 */
export function parseEncryptionKey(value: string | undefined, variable = 'MAIL_TOKEN_ENCRYPTION_KEY'): Buffer {
  const hint = `generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;
  const text = value?.trim() ?? '';
  if (text === '') throw new EncryptionKeyError(`${variable} is required (32 bytes, base64 or hex); ${hint}`);
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) key = Buffer.from(text, 'base64');
  if (key?.length !== 32) {
    throw new EncryptionKeyError(
      `${variable} must be exactly 32 bytes written as 64 hex characters or base64 (got ${key ? `${key.length} bytes` : 'neither'}); ${hint}`,
    );
  }
  return key;
}

/** Encrypts `plaintext` with a fresh random IV. */
export function encryptToken(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, tag, ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** Decrypts a value made by {@link encryptToken}; throws TokenDecryptionError otherwise. */
export function decryptToken(key: Buffer, stored: string): string {
  const parts = stored.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new TokenDecryptionError('stored token is not in the v1 encrypted format');
  }
  const iv = Buffer.from(parts[1]!, 'base64url');
  const tag = Buffer.from(parts[2]!, 'base64url');
  const ciphertext = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new TokenDecryptionError('stored token has a malformed IV or authentication tag');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    // GCM authentication failed: the key differs from the one that encrypted it, or the value was altered.
    throw new TokenDecryptionError(
      'stored token could not be decrypted: MAIL_TOKEN_ENCRYPTION_KEY differs from the key that encrypted it, or the value is corrupted',
    );
  }
}
