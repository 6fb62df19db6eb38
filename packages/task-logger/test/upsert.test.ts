import { randomUUID } from 'node:crypto';
import { createDb } from '@fleet/db';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RowState, UPSERT_STATEMENT, upsertRows } from '../src/index.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('task_logger_upsert');
});
afterAll(() => t.drop());

function row(status: RowState['status'] = 'completed'): RowState {
  return {
    key: { queueName: 'test_queue', jobId: randomUUID(), attempt: 1 },
    status,
    workspaceId: null,
    taskType: 'system_health_check',
    agentName: 'test-agent',
    triggeredBy: 'api',
    inputData: '{"n":1}',
    outputData: '{"ok":true}',
    errorMessage: null,
    executedAt: new Date(Date.now() - 20),
    createdAt: new Date(Date.now() - 30),
    completedAt: status === 'completed' ? new Date() : null,
    costUsd: '0.000000',
  };
}

const count = async (jobId: string) =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM autonomous_tasks WHERE job_id = ${jobId}`.execute(t.db))
    .rows[0]!.n;

describe('upsertRows', () => {
  it('sends the upsert as a named prepared statement on a pool made by createDb', async () => {
    const db = createDb(t.url, { max: 1 });
    try {
      const r = row();
      await upsertRows(db, [r]);
      await upsertRows(db, [row()]);
      // One connection: the statement prepared by the first write is still there for the next.
      const prepared = await sql<{ name: string }>`SELECT name FROM pg_prepared_statements`.execute(db);
      expect(prepared.rows.map((p) => p.name)).toEqual([UPSERT_STATEMENT]);
      expect(await count(r.key.jobId)).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('writes inside a transaction it is given, not beside it on the pool', async () => {
    const r = row();
    await t.db
      .transaction()
      .execute(async (trx) => {
        await upsertRows(trx, [r]);
        expect(
          (
            await sql<{
              n: number;
            }>`SELECT count(*)::int AS n FROM autonomous_tasks WHERE job_id = ${r.key.jobId}`.execute(trx)
          ).rows[0]!.n,
        ).toBe(1);
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(await count(r.key.jobId)).toBe(0);
  });
});
