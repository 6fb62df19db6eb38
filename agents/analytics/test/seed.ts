/** Seeding helpers of the analytics tests; platform rows come from @fleet/testing. */
import type { Database } from '@fleet/db';
import type { Insertable, Kysely } from 'kysely';

/** An audit row as the runtime would have left it (tests only: agents never write this table). */
export async function insertTask(
  db: Kysely<Database>,
  workspaceId: string,
  values: {
    task_type: Insertable<Database['autonomous_tasks']>['task_type'];
    status: 'completed' | 'failed' | 'partial_failure' | 'cancelled' | 'running';
    executed_at: Date;
    duration_ms?: number;
    cost?: number;
  },
): Promise<void> {
  await db
    .insertInto('autonomous_tasks')
    .values({
      workspace_id: workspaceId,
      task_type: values.task_type,
      status: values.status,
      executed_at: values.executed_at,
      completed_at:
        values.duration_ms === undefined ? null : new Date(values.executed_at.getTime() + values.duration_ms),
      cost_estimate_usd: values.cost ?? 0,
      agent_name: 'test',
    })
    .execute();
}

export async function insertScore(
  db: Kysely<Database>,
  workspaceId: string,
  contactId: string,
  score: number,
  tier: 'hot' | 'warm' | 'cold',
  at: Date,
): Promise<void> {
  await db
    .insertInto('contact_score_history')
    .values({ workspace_id: workspaceId, contact_id: contactId, score, tier, factors: {}, computed_at: at })
    .execute();
}
