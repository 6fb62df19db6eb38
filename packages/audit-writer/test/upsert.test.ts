import { randomUUID } from 'node:crypto';
import { createDb, TASK_STATUSES } from '@fleet/db';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RowState, statusRank, statusRankSql, UPSERT_STATEMENT, upsertRows } from '../src/index.ts';
import { mergeRows } from '../src/rows.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('audit_writer_upsert');
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

  it('ranks every status in SQL as statusRank does', async () => {
    for (const status of TASK_STATUSES) {
      const { rows } = await sql<{ rank: number }>`
        SELECT ${sql.raw(statusRankSql('s'))} AS rank FROM (SELECT ${status}::text AS s) AS v
      `.execute(t.db);
      expect({ status, rank: rows[0]!.rank }).toEqual({ status, rank: statusRank(status) });
    }
  });

  it('keeps, for every pair of statuses, the status mergeRows keeps', async () => {
    const pairs = TASK_STATUSES.flatMap((first) => TASK_STATUSES.map((second) => ({ first, second })));
    const firsts = pairs.map(({ first }) => row(first));
    const seconds = pairs.map(({ second }, i) => ({
      ...row(second),
      key: firsts[i]!.key,
      createdAt: firsts[i]!.createdAt,
    }));
    await upsertRows(t.db, firsts);
    await upsertRows(t.db, seconds);
    const { rows } = await sql<{ job_id: string; status: string }>`
      SELECT job_id, status FROM autonomous_tasks WHERE job_id = ANY(${firsts.map((r) => r.key.jobId)}::text[])
    `.execute(t.db);
    const stored = new Map(rows.map((r) => [r.job_id, r.status]));
    const got = pairs.map((p, i) => ({ ...p, kept: stored.get(firsts[i]!.key.jobId) }));
    const want = pairs.map((p, i) => ({ ...p, kept: mergeRows(firsts[i]!, seconds[i]!).status }));
    expect(got).toEqual(want);
  });
});
