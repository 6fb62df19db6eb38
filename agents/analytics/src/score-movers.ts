import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';

export interface ScoreMover {
  contact_id: string;
  email: string;
  name: string | null;
  /** Score before the period; null when the contact was first scored during it. */
  score_before: number | null;
  score_after: number;
  /** score_after − score_before, counting an unscored contact as 0. */
  change: number;
  tier_before: string | null;
  tier_after: string;
}

/**
 * Contacts whose lead score moved most during [start, end): the last score before the period
 * against the last one inside it, from contact_score_history. Largest movement first (up or down).
 */
export async function topScoreMovers(
  db: Kysely<Database>,
  workspaceId: string,
  start: Date,
  end: Date,
  limit = 5,
): Promise<ScoreMover[]> {
  const { rows } = await sql<ScoreMover>`
    WITH moved AS (
      SELECT DISTINCT contact_id FROM contact_score_history
       WHERE workspace_id = ${workspaceId} AND computed_at >= ${start} AND computed_at < ${end}
    )
    SELECT c.id AS contact_id, c.email,
           nullif(concat_ws(' ', c.first_name, c.last_name), '') AS name,
           before.score AS score_before, after.score AS score_after,
           after.score - coalesce(before.score, 0) AS change,
           before.tier AS tier_before, after.tier AS tier_after
      FROM moved m
      JOIN contacts c ON c.id = m.contact_id
      CROSS JOIN LATERAL (
        SELECT score, tier FROM contact_score_history
         WHERE contact_id = m.contact_id AND computed_at < ${end}
         ORDER BY computed_at DESC, id DESC LIMIT 1
      ) after
      LEFT JOIN LATERAL (
        SELECT score, tier FROM contact_score_history
         WHERE contact_id = m.contact_id AND computed_at < ${start}
         ORDER BY computed_at DESC, id DESC LIMIT 1
      ) before ON true
     WHERE after.score IS DISTINCT FROM before.score
     ORDER BY abs(after.score - coalesce(before.score, 0)) DESC, c.id
     LIMIT ${limit}
  `.execute(db);
  return rows;
}
