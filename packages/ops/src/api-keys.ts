import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Database, isUuid } from '@fleet/db';
import type { Kysely } from 'kysely';
import type { Access } from './access.ts';
import { invalidInput, notFound } from './errors.ts';
import { textProblem } from './text.ts';

/** An API key as listed (never the key itself). */
export interface ApiKeyInfo {
  id: string;
  name: string;
  keyPrefix: string;
  workspaceIds: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Who a verified key belongs to. */
export interface Principal {
  /** 'admin' or the api_keys id. */
  id: string;
  name: string;
  access: Access;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Creates a key for `workspaceIds` and returns it in clear text: the only time it is visible.
 * Keys look like `fleet_<8 hex>_<43 base64url>` (256 random bits).
 */
export async function createApiKey(
  db: Kysely<Database>,
  input: { name: string; workspaceIds: string[] },
): Promise<{ key: string; info: ApiKeyInfo }> {
  const fields = [];
  if (typeof input.name !== 'string' || !input.name || input.name.length > 200) {
    fields.push({ field: 'name', message: 'must be 1-200 characters' });
  } else {
    const problem = textProblem(input.name, 'id');
    if (problem) fields.push({ field: 'name', message: problem });
  }
  if (!Array.isArray(input.workspaceIds) || input.workspaceIds.length === 0) {
    fields.push({ field: 'workspace_ids', message: 'must list at least one workspace UUID' });
  } else {
    input.workspaceIds.forEach((w, i) => {
      if (!isUuid(w)) fields.push({ field: `workspace_ids.${i}`, message: 'must be a workspace UUID' });
    });
  }
  if (fields.length > 0) throw invalidInput('invalid API key request', fields);
  const prefix = `fleet_${randomBytes(4).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_keys')
    .values({
      name: input.name,
      key_prefix: prefix,
      key_hash: hashApiKey(key),
      workspace_ids: [...new Set(input.workspaceIds.map((w) => w.toLowerCase()))],
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, info: toInfo(row) };
}

export async function listApiKeys(db: Kysely<Database>): Promise<ApiKeyInfo[]> {
  const rows = await db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').execute();
  return rows.map(toInfo);
}

/** Revokes a key by id or prefix; requests with it fail from then on. */
export async function revokeApiKey(db: Kysely<Database>, idOrPrefix: string): Promise<ApiKeyInfo> {
  const problem = textProblem(idOrPrefix, 'id') ?? (idOrPrefix.length > 200 ? 'must be at most 200 characters' : null);
  if (problem || !idOrPrefix) {
    throw invalidInput(`invalid API key id: ${problem ?? 'is empty'}`, [
      { field: 'id', message: problem ?? 'is required' },
    ]);
  }
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where((eb) => (isUuid(idOrPrefix) ? eb('id', '=', idOrPrefix) : eb('key_prefix', '=', idOrPrefix)))
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound(`no active API key ${idOrPrefix}`);
  return toInfo(row);
}

export interface VerifyOptions {
  /** The admin key from the environment; compared in constant time. */
  adminKey?: string;
}

/** Resolves a presented key to its principal; null when unknown or revoked. */
export async function verifyApiKey(
  db: Kysely<Database>,
  key: string,
  options: VerifyOptions = {},
): Promise<Principal | null> {
  if (!key || key.length > 200) return null;
  const digest = Buffer.from(hashApiKey(key), 'hex');
  if (options.adminKey && timingSafeEqual(digest, Buffer.from(hashApiKey(options.adminKey), 'hex'))) {
    return { id: 'admin', name: 'admin', access: { kind: 'admin' } };
  }
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'name', 'workspace_ids', 'last_used_at'])
    .where('key_hash', '=', digest.toString('hex'))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  // last_used_at is informational: write it at most once a minute per key.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db
      .updateTable('api_keys')
      .set({ last_used_at: new Date() })
      .where('id', '=', row.id)
      .execute()
      .catch(() => {});
  }
  return { id: row.id, name: row.name, access: { kind: 'workspaces', workspaceIds: row.workspace_ids } };
}

function toInfo(row: {
  id: string;
  name: string;
  key_prefix: string;
  workspace_ids: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    keyPrefix: row.key_prefix,
    workspaceIds: row.workspace_ids,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
