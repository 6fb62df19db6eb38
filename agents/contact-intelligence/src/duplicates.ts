import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';

/**
 * Flags contacts of a workspace that share a normalized address (contacts.email_normalized, see
 * migration 050): the oldest contact of each group is the original, every other one points at it
 * with duplicate_of. A contact whose group shrank back to one is cleared. One statement for the
 * whole workspace; a duplicate_of a person set (manual_fields) is left alone.
 */
export async function flagDuplicates(
  db: Kysely<Database>,
  workspaceId: string,
): Promise<{ flagged: number; cleared: number }> {
  const { rows } = await sql<{ flagged: number; cleared: number }>`
    WITH ranked AS (
      SELECT id,
             first_value(id) OVER (PARTITION BY email_normalized ORDER BY created_at, id) AS original
        FROM contacts
       WHERE workspace_id = ${workspaceId}
    ), changed AS (
      UPDATE contacts AS c
         SET duplicate_of = nullif(r.original, c.id), updated_at = now()
        FROM ranked r
       WHERE c.id = r.id
         AND c.duplicate_of IS DISTINCT FROM nullif(r.original, c.id)
         AND NOT ('duplicate_of' = ANY(c.manual_fields))
      RETURNING c.duplicate_of
    )
    SELECT count(*) FILTER (WHERE duplicate_of IS NOT NULL)::int AS flagged,
           count(*) FILTER (WHERE duplicate_of IS NULL)::int AS cleared
      FROM changed
  `.execute(db);
  return rows[0] ?? { flagged: 0, cleared: 0 };
}
