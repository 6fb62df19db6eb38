/**
 * Fixtures shared by the database tests. Every test file owns its database (createTestDatabase),
 * so these helpers only ever write into that file's own copy.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, NewTask } from '../src/index.ts';

/** The seed document's example workspace id. It is not a UUID (32 chars, letters beyond f). */
export const SEED_WORKSPACE_ID = 'kh72b1cng9h88691sx4x7krt2h7v7deh';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error a failed statement rejects with: pg's DatabaseError, passed through by Kysely. */
export interface PgError extends Error {
  code?: string;
  constraint?: string;
  detail?: string;
}

/** Awaits `promise`, which must reject, and returns the error (fails the test if it resolves). */
export async function errorOf(promise: Promise<unknown>): Promise<PgError> {
  try {
    await promise;
  } catch (error) {
    return error as PgError;
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

/** An organization with `workspaces` workspaces; returns their ids. */
export async function createOrg(
  db: Kysely<Database>,
  name: string,
  workspaces = 1,
): Promise<{ orgId: string; workspaceIds: string[] }> {
  const { id: orgId } = await db.insertInto('organizations').values({ name }).returning('id').executeTakeFirstOrThrow();
  const rows = await db
    .insertInto('workspaces')
    .values(Array.from({ length: workspaces }, (_, i) => ({ org_id: orgId, name: `${name} ws${i + 1}` })))
    .returning('id')
    .execute();
  return { orgId, workspaceIds: rows.map((r) => r.id) };
}

/** A user (a bare uuid, as auth.uid() returns) who belongs to the given organizations. */
export async function createUser(db: Kysely<Database>, orgIds: string[]): Promise<string> {
  const userId = randomUUID();
  if (orgIds.length > 0) {
    await db
      .insertInto('user_organizations')
      .values(orgIds.map((org_id) => ({ user_id: userId, org_id })))
      .execute();
  }
  return userId;
}

/** Inserts one task row with sensible defaults and returns it as stored (after the triggers). */
export async function insertTask(db: Kysely<Database>, values: Partial<NewTask> = {}) {
  return db
    .insertInto('autonomous_tasks')
    .values({ task_type: 'system_health_check', ...values })
    .returningAll()
    .executeTakeFirstOrThrow();
}
