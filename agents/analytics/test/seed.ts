/** Seeding helpers: each test builds exactly the rows it reasons about. */
import { randomUUID } from 'node:crypto';
import type { Database, JsonObject } from '@fleet/db';
import type { Insertable, Kysely } from 'kysely';

export async function createWorkspace(
  db: Kysely<Database>,
  opts: { timezone?: string; settings?: JsonObject } = {},
): Promise<string> {
  const org = await db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  const ws = await db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'Workspace', timezone: opts.timezone ?? 'UTC', settings: opts.settings ?? {} })
    .returning('id')
    .executeTakeFirstOrThrow();
  return ws.id;
}

export async function insertContact(
  db: Kysely<Database>,
  workspaceId: string,
  values: Partial<Insertable<Database['contacts']>> = {},
): Promise<string> {
  const row = await db
    .insertInto('contacts')
    .values({ workspace_id: workspaceId, email: `${randomUUID()}@example.org`, ...values })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertEmail(
  db: Kysely<Database>,
  workspaceId: string,
  values: Partial<Insertable<Database['emails']>> & { direction: 'inbound' | 'outbound'; sent_at: Date },
): Promise<string> {
  const row = await db
    .insertInto('emails')
    .values({
      workspace_id: workspaceId,
      provider_message_id: randomUUID(),
      from_address: 'someone@example.org',
      ...values,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertInsight(
  db: Kysely<Database>,
  workspaceId: string,
  values: Partial<Insertable<Database['email_insights']>> & { email_id: string },
): Promise<string> {
  const row = await db
    .insertInto('email_insights')
    .values({
      workspace_id: workspaceId,
      intent: 'question',
      sentiment: 'neutral',
      urgency: 'low',
      extractor: 'test',
      ...values,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export const DAY = 86_400_000;
export function daysBefore(date: Date, days: number): Date {
  return new Date(date.getTime() - days * DAY);
}

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
