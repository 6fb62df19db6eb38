import type { Database } from '@fleet/db';
import type { Kysely } from 'kysely';

/** Environment for an agent under test: its own database and Redis prefix, quick timings. */
export function agentEnv(dbUrl: string, redisUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    LOG_PRETTY: 'false',
    METRICS_PROCESS: 'false',
    RECONCILE_INTERVAL_MS: '500',
    ...extra,
  };
}

export async function taskRows(db: Kysely<Database>) {
  return db.selectFrom('autonomous_tasks').selectAll().orderBy('job_id').orderBy('attempt').execute();
}

export async function statusCounts(db: Kysely<Database>): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('autonomous_tasks')
    .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export { createWorkspace } from '@fleet/testing';
