import type { Database, TaskStatus, TaskType } from '@fleet/db';
import type { Kysely } from 'kysely';

export async function seedOrg(db: Kysely<Database>): Promise<string> {
  const org = await db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  return org.id;
}

export async function seedWorkspace(
  db: Kysely<Database>,
  orgId: string,
  opts: { active?: boolean; timezone?: string; name?: string } = {},
): Promise<string> {
  const ws = await db
    .insertInto('workspaces')
    .values({
      org_id: orgId,
      name: opts.name ?? 'WS',
      is_active: opts.active ?? true,
      ...(opts.timezone ? { timezone: opts.timezone } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return ws.id;
}

export async function seedMailAccount(db: Kysely<Database>, workspaceId: string, active = true): Promise<string> {
  const a = await db
    .insertInto('mail_accounts')
    .values({
      workspace_id: workspaceId,
      email_address: `${Math.random().toString(36).slice(2)}@example.com`,
      is_active: active,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return a.id;
}

/** Inserts an audit row directly (tests only: agents never write autonomous_tasks). */
export async function insertTaskRow(
  db: Kysely<Database>,
  row: { status: TaskStatus; ageMs: number; taskType?: TaskType; workspaceId?: string | null },
): Promise<string> {
  const executedAt = new Date(Date.now() - row.ageMs);
  const terminal = !['pending', 'running'].includes(row.status);
  const r = await db
    .insertInto('autonomous_tasks')
    .values({
      workspace_id: row.workspaceId ?? null,
      task_type: row.taskType ?? 'lead_scoring_batch',
      status: row.status,
      executed_at: executedAt,
      completed_at: terminal ? new Date(executedAt.getTime() + 1_000) : null,
      agent_name: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

/** Environment for the scheduler under startAgent: own DB and Redis prefix, quick timings. */
export function agentEnv(dbUrl: string, redisUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    LOG_PRETTY: 'false',
    METRICS_PROCESS: 'false',
    RECONCILE_INTERVAL_MS: '500',
    ...extra,
  };
}
