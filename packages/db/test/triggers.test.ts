/**
 * The two triggers of autonomous_tasks as 047 left them: updated_at only moves forward, and
 * duration_ms is derived from executed_at/completed_at (design invariant 5).
 */
import { createPool } from '@fleet/db';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, insertTask } from './helpers.ts';

let t: TestDatabase;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('triggers');
  workspaceId = (await createOrg(t.db, 'Triggers org')).workspaceIds[0]!;
});

afterAll(async () => {
  await t?.drop();
});

async function readTask(id: string) {
  return t.db.selectFrom('autonomous_tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe('updated_at', () => {
  it('moves forward on an update', async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId, status: 'running' });
    // Compared in SQL, at microsecond precision: two statements can fall in the same millisecond.
    const { rows } = await sql<{ forward: boolean; created_kept: boolean; before: string; after: string }>`
      UPDATE autonomous_tasks t SET status = 'completed'
      FROM (SELECT updated_at, created_at FROM autonomous_tasks WHERE id = ${row.id}) old
      WHERE t.id = ${row.id}
      RETURNING t.updated_at > old.updated_at AS forward, t.created_at = old.created_at AS created_kept,
                old.updated_at::text AS before, t.updated_at::text AS after
    `.execute(t.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.forward, `updated_at went from ${rows[0]!.before} to ${rows[0]!.after}`).toBe(true);
    expect(rows[0]!.created_kept).toBe(true);
  });

  it('moves forward on each of two updates in one transaction', async () => {
    // With now() (the 043 trigger) both updates would get the transaction's start time.
    const row = await insertTask(t.db, { workspace_id: workspaceId, status: 'pending' });
    const times = await t.db.transaction().execute(async (trx) => {
      // Read as text: a JS Date would drop the microseconds the two updates may differ by.
      const update = async (status: string) =>
        (
          await sql<{ updated_at: string }>`
            UPDATE autonomous_tasks SET status = ${status} WHERE id = ${row.id} RETURNING updated_at::text
          `.execute(trx)
        ).rows[0]!.updated_at;
      const first = await update('running');
      const second = await update('completed');
      const { rows } = await sql<{ first_before_second: boolean; first_after_insert: boolean }>`
        SELECT ${first}::timestamptz < ${second}::timestamptz AS first_before_second,
               ${first}::timestamptz > created_at AS first_after_insert
        FROM autonomous_tasks WHERE id = ${row.id}
      `.execute(trx);
      return rows[0]!;
    });
    expect(times).toEqual({ first_before_second: true, first_after_insert: true });
    // The committed value is the second update's, at microsecond precision.
    const { rows } = await sql<{ strictly_later: boolean }>`
      SELECT updated_at > created_at AS strictly_later FROM autonomous_tasks WHERE id = ${row.id}
    `.execute(t.db);
    expect(rows).toEqual([{ strictly_later: true }]);
  });

  it('never moves backwards when a transaction that started earlier updates the row later', async () => {
    // Transaction A starts, then the row is written (and committed) by someone else, then A
    // updates it. now() in A is older than the row's updated_at; the trigger must not go back.
    const pool = createPool(t.url, { max: 1 });
    const a = await pool.connect();
    try {
      await a.query('BEGIN');
      const { rows: started } = await a.query<{ now: string }>('SELECT now()::text AS now');
      const row = await insertTask(t.db, { workspace_id: workspaceId, status: 'running' });
      const { rows } = await a.query<{ before: string; after: string; forward: boolean; row_newer: boolean }>(
        `UPDATE autonomous_tasks t SET status = 'completed'
         FROM (SELECT updated_at AS before FROM autonomous_tasks WHERE id = $1) old
         WHERE t.id = $1
         RETURNING old.before::text AS before, t.updated_at::text AS after,
                   t.updated_at > old.before AS forward, old.before > $2::timestamptz AS row_newer`,
        [row.id, started[0]!.now],
      );
      await a.query('COMMIT');
      expect(rows).toHaveLength(1);
      // The scenario really happened: the row was written after A's transaction began.
      expect(rows[0]!.row_newer, `A began ${started[0]!.now}, row written ${rows[0]!.before}`).toBe(true);
      expect(rows[0]!.forward, `updated_at went from ${rows[0]!.before} to ${rows[0]!.after}`).toBe(true);
    } finally {
      a.release();
      await pool.end();
    }
  });

  it('never moves backwards when the stored updated_at is ahead of this server clock (clock stepped back)', async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId, status: 'running' });
    // Simulate a row last written by a clock that was an hour ahead: write updated_at with the
    // triggers off (session_replication_role = replica skips ordinary triggers).
    const ahead = await t.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      const { rows } = await sql<{ updated_at: string }>`
        UPDATE autonomous_tasks SET updated_at = clock_timestamp() + interval '1 hour' WHERE id = ${row.id}
        RETURNING updated_at::text
      `.execute(trx);
      return rows[0]!.updated_at;
    });
    const { rows } = await sql<{ not_backwards: boolean; after: string }>`
      UPDATE autonomous_tasks SET status = 'completed' WHERE id = ${row.id}
      RETURNING updated_at >= ${ahead}::timestamptz AS not_backwards, updated_at::text AS after
    `.execute(t.db);
    expect(rows[0]!.not_backwards, `updated_at went from ${ahead} to ${rows[0]!.after}`).toBe(true);
  });

  it('ignores an attempt to set updated_at into the past', async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId });
    const updated = await t.db
      .updateTable('autonomous_tasks')
      .set({ updated_at: '2000-01-01T00:00:00Z' })
      .where('id', '=', row.id)
      .returning('updated_at')
      .executeTakeFirstOrThrow();
    expect(updated.updated_at.getTime()).toBeGreaterThanOrEqual(row.updated_at.getTime());
  });
});

describe('duration_ms', () => {
  const executedAt = '2025-11-18T10:00:00.000Z';

  it('is null while completed_at is null, on insert and on updates that do not complete the row', async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId, status: 'running', executed_at: executedAt });
    expect(row.completed_at).toBeNull();
    expect(row.duration_ms).toBeNull();
    const updated = await t.db
      .updateTable('autonomous_tasks')
      .set({ status: 'running', output_data: { progress: 50 }, executed_at: '2025-11-18T09:00:00Z' })
      .where('id', '=', row.id)
      .returning(['duration_ms', 'completed_at'])
      .executeTakeFirstOrThrow();
    expect(updated).toEqual({ duration_ms: null, completed_at: null });
  });

  it('is computed when completed_at is set later, and recomputed when the timestamps change', async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId, status: 'running', executed_at: executedAt });
    const complete = (completedAt: string) =>
      t.db
        .updateTable('autonomous_tasks')
        .set({ status: 'completed', completed_at: completedAt })
        .where('id', '=', row.id)
        .returning('duration_ms')
        .executeTakeFirstOrThrow();

    expect(await complete('2025-11-18T10:00:01.234Z')).toEqual({ duration_ms: 1234 });
    expect(await complete('2025-11-18T10:05:00.000Z')).toEqual({ duration_ms: 300_000 });

    const moved = await t.db
      .updateTable('autonomous_tasks')
      .set({ executed_at: '2025-11-18T10:04:00.000Z' })
      .where('id', '=', row.id)
      .returning('duration_ms')
      .executeTakeFirstOrThrow();
    expect(moved).toEqual({ duration_ms: 60_000 });
    expect((await readTask(row.id)).duration_ms).toBe(60_000);
  });

  it('rounds sub-millisecond durations to the nearest millisecond', async () => {
    const { rows } = await sql<{ duration_ms: number }>`
      INSERT INTO autonomous_tasks (workspace_id, task_type, executed_at, completed_at)
      VALUES (${workspaceId}, 'data_cleanup', '2025-11-18T10:00:00Z', '2025-11-18T10:00:00.0026Z')
      RETURNING duration_ms
    `.execute(t.db);
    expect(rows).toEqual([{ duration_ms: 3 }]);
  });

  it('is never negative when completed_at is before executed_at (clock skew between writers)', async () => {
    const row = await insertTask(t.db, {
      workspace_id: workspaceId,
      status: 'completed',
      executed_at: executedAt,
      completed_at: '2025-11-18T09:59:59.000Z',
    });
    expect(row.duration_ms).toBe(0);
  });

  // 047 skipped the duration function when completed_at was NULL and ignored direct writes of
  // duration_ms; 090 fixed both and made the column bigint.
  it('is null when a row is inserted with a duration_ms but no completed_at', async () => {
    const { rows } = await sql<{ duration_ms: number | null }>`
      INSERT INTO autonomous_tasks (workspace_id, task_type, duration_ms) VALUES (${workspaceId}, 'email_sync', 999)
      RETURNING duration_ms
    `.execute(t.db);
    expect(rows).toEqual([{ duration_ms: null }]);
  });

  it('goes back to null when completed_at is reset to null', async () => {
    const row = await insertTask(t.db, {
      workspace_id: workspaceId,
      executed_at: executedAt,
      completed_at: '2025-11-18T10:00:02Z',
    });
    expect(row.duration_ms).toBe(2000);
    const reopened = await t.db
      .updateTable('autonomous_tasks')
      .set({ completed_at: null, status: 'running' })
      .where('id', '=', row.id)
      .returning('duration_ms')
      .executeTakeFirstOrThrow();
    expect(reopened).toEqual({ duration_ms: null });
  });

  it('cannot be overwritten by an UPDATE that sets duration_ms directly', async () => {
    const row = await insertTask(t.db, {
      workspace_id: workspaceId,
      executed_at: executedAt,
      completed_at: '2025-11-18T10:00:02Z',
    });
    const { rows } = await sql<{ duration_ms: number }>`
      UPDATE autonomous_tasks SET duration_ms = 5 WHERE id = ${row.id} RETURNING duration_ms
    `.execute(t.db);
    expect(rows).toEqual([{ duration_ms: 2000 }]);
  });

  // KNOWN BUG in 043/047: duration_ms is an integer (max 2^31 ms ≈ 24.8 days). Completing a row
  // that started longer ago than that, e.g. the reconciler closing a `running` row left over from
  // a long outage, fails with "integer out of range" instead of closing the row.
  it('can close a row that has been running for 30 days', async () => {
    const row = await insertTask(t.db, {
      workspace_id: workspaceId,
      status: 'running',
      executed_at: '2025-10-01T00:00:00Z',
    });
    const closed = await t.db
      .updateTable('autonomous_tasks')
      .set({ status: 'failed', completed_at: '2025-10-31T00:00:00Z', error_message: 'worker lost' })
      .where('id', '=', row.id)
      .returning('duration_ms')
      .executeTakeFirstOrThrow();
    expect(closed.duration_ms).toBe(30 * 24 * 3_600_000);
  });
});
