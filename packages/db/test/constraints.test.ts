/**
 * What the database refuses: check constraints, the job identity of 045, non-UUID workspace ids
 * and the summary function's argument checks. Each refusal must carry an error that says why.
 */
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATUSES, TASK_TYPES, type TaskStatus, type TaskType } from '../src/index.ts';
import { createOrg, errorOf, insertTask, SEED_WORKSPACE_ID } from './helpers.ts';

let t: TestDatabase;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('constraints');
  workspaceId = (await createOrg(t.db, 'Constraints org')).workspaceIds[0]!;
});

afterAll(async () => {
  await t?.drop();
});

/** The values a `CHECK (col = ANY (ARRAY['a'::text, ...]))` constraint allows. */
async function allowedValues(constraint: string): Promise<string[]> {
  const { rows } = await sql<{ def: string }>`
    SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE conrelid = 'autonomous_tasks'::regclass AND conname = ${constraint}
  `.execute(t.db);
  expect(rows, `constraint ${constraint} exists`).toHaveLength(1);
  return [...rows[0]!.def.matchAll(/'([^']+)'::text/g)].map((m) => m[1]!);
}

describe('task_type and status check constraints', () => {
  it('rejects an unknown task_type with an error naming autonomous_tasks_task_type_check', async () => {
    const error = await errorOf(
      insertTask(t.db, { workspace_id: workspaceId, task_type: 'bitcoin_mining' as TaskType }),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'autonomous_tasks_task_type_check' });
    expect(error.message).toContain('violates check constraint "autonomous_tasks_task_type_check"');
  });

  it('rejects an unknown status with an error naming autonomous_tasks_status_check', async () => {
    const error = await errorOf(insertTask(t.db, { workspace_id: workspaceId, status: 'done' as TaskStatus }));
    expect(error).toMatchObject({ code: '23514', constraint: 'autonomous_tasks_status_check' });
    expect(error.message).toContain('violates check constraint "autonomous_tasks_status_check"');
  });

  it('rejects an unknown status set by a later UPDATE too', async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId });
    const error = await errorOf(
      t.db
        .updateTable('autonomous_tasks')
        .set({ status: 'succeeded' as TaskStatus })
        .where('id', '=', row.id)
        .execute(),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'autonomous_tasks_status_check' });
  });

  it("accepts 'media_transcription' (added by 044)", async () => {
    const row = await insertTask(t.db, { workspace_id: workspaceId, task_type: 'media_transcription' });
    expect(row.task_type).toBe('media_transcription');
  });

  it('allows exactly the task types and statuses that types.ts declares, and accepts each of them', async () => {
    expect((await allowedValues('autonomous_tasks_task_type_check')).sort()).toEqual([...TASK_TYPES].sort());
    expect((await allowedValues('autonomous_tasks_status_check')).sort()).toEqual([...TASK_STATUSES].sort());
    const rows = await t.db
      .insertInto('autonomous_tasks')
      .values(
        TASK_TYPES.flatMap((task_type) =>
          TASK_STATUSES.map((status) => ({ workspace_id: workspaceId, task_type, status })),
        ),
      )
      .returning('id')
      .execute();
    expect(rows).toHaveLength(TASK_TYPES.length * TASK_STATUSES.length);
  });

  it('rejects a workspace that does not exist (foreign key)', async () => {
    const error = await errorOf(insertTask(t.db, { workspace_id: '00000000-0000-4000-8000-000000000000' }));
    expect(error).toMatchObject({ code: '23503', constraint: 'autonomous_tasks_workspace_id_fkey' });
  });
});

describe('workspace ids are UUIDs', () => {
  it("gives the seed's example id a clear invalid-uuid error (22P02), as a parameter", async () => {
    const error = await errorOf(insertTask(t.db, { workspace_id: SEED_WORKSPACE_ID }));
    expect(error.code).toBe('22P02');
    expect(error.message).toBe(`invalid input syntax for type uuid: "${SEED_WORKSPACE_ID}"`);
  });

  it("gives the seed's own Test 1 and Test 3 SQL (a string literal) the same clear error", async () => {
    const insert = await errorOf(
      sql`
        INSERT INTO autonomous_tasks (workspace_id, task_type, status, executed_at, completed_at)
        VALUES ('kh72b1cng9h88691sx4x7krt2h7v7deh', 'system_health_check', 'completed', NOW() - INTERVAL '5 minutes', NOW())
      `.execute(t.db),
    );
    expect(insert).toMatchObject({
      code: '22P02',
      message: expect.stringContaining('invalid input syntax for type uuid'),
    });

    const summary = await errorOf(
      sql`SELECT * FROM get_autonomous_task_summary('kh72b1cng9h88691sx4x7krt2h7v7deh'::uuid, NULL, 24)`.execute(t.db),
    );
    expect(summary).toMatchObject({ code: '22P02', message: expect.stringContaining(SEED_WORKSPACE_ID) });
  });
});

describe('get_autonomous_task_summary argument checks', () => {
  it('raises a clear error for a NULL workspace id', async () => {
    const error = await errorOf(sql`SELECT * FROM get_autonomous_task_summary(NULL, NULL, 24)`.execute(t.db));
    expect(error.code).toBe('22023'); // invalid_parameter_value
    expect(error.message).toContain('p_workspace_id is required');
  });

  it.each([0, -5, 8785, null])('raises a clear error for hours_back = %s', async (hours) => {
    const error = await errorOf(
      sql`SELECT * FROM get_autonomous_task_summary(${workspaceId}::uuid, NULL, ${hours}::integer)`.execute(t.db),
    );
    expect(error.code).toBe('22023');
    expect(error.message).toContain('p_hours_back must be between 1 and 8784 hours');
    expect(error.message).toContain(`got ${hours ?? '<NULL>'}`);
  });

  it('accepts the bounds 1 and 8784 hours', async () => {
    for (const hours of [1, 8784]) {
      await expect(
        sql`SELECT * FROM get_autonomous_task_summary(${workspaceId}::uuid, NULL, ${hours})`.execute(t.db),
      ).resolves.toBeDefined();
    }
  });
});

describe('job identity (045): one row per (queue_name, job_id, attempt)', () => {
  it('rejects a partial identity or an attempt below 1', async () => {
    for (const identity of [
      { queue_name: 'email_integration_queue' },
      { queue_name: 'email_integration_queue', attempt: 1 },
      { job_id: '42', attempt: 1 },
      { queue_name: 'email_integration_queue', job_id: '42', attempt: 0 },
    ]) {
      const error = await errorOf(insertTask(t.db, { workspace_id: workspaceId, ...identity }));
      expect(error, JSON.stringify(identity)).toMatchObject({
        code: '23514',
        constraint: 'autonomous_tasks_job_identity_check',
      });
    }
  });

  it('rejects a second row for the same attempt and lets writers upsert it instead', async () => {
    // created_at is the job's creation time, which every writer of the job sends (migration 140).
    const identity = { queue_name: 'analytics_queue', job_id: 'job-1', attempt: 1, created_at: new Date() };
    await insertTask(t.db, { workspace_id: workspaceId, status: 'running', ...identity });
    const duplicate = await errorOf(insertTask(t.db, { workspace_id: workspaceId, status: 'running', ...identity }));
    // Raised by the partition's copy of uq_autonomous_tasks_job_attempt, named after the partition.
    expect(duplicate).toMatchObject({ code: '23505' });
    expect((duplicate as { detail?: string }).detail).toMatch(/^Key \(queue_name, job_id, attempt, created_at\)=/);

    await t.db
      .insertInto('autonomous_tasks')
      .values({ workspace_id: workspaceId, task_type: 'system_health_check', status: 'completed', ...identity })
      .onConflict((oc) =>
        oc.columns(['queue_name', 'job_id', 'attempt', 'created_at']).doUpdateSet({ status: 'completed' }),
      )
      .execute();
    const rows = await t.db
      .selectFrom('autonomous_tasks')
      .select('status')
      .where('queue_name', '=', identity.queue_name)
      .where('job_id', '=', identity.job_id)
      .execute();
    expect(rows).toEqual([{ status: 'completed' }]);

    // Another attempt of the same job is another row.
    await insertTask(t.db, { workspace_id: workspaceId, ...identity, attempt: 2 });
  });

  // 045 let a NULL attempt through (NULL >= 1 is not false); 090 requires it.
  it('rejects a queue_name and job_id without an attempt', async () => {
    const identity = { queue_name: 'analytics_queue', job_id: 'job-no-attempt' };
    const error = await errorOf(insertTask(t.db, { workspace_id: workspaceId, ...identity }));
    expect(error).toMatchObject({ code: '23514', constraint: 'autonomous_tasks_job_identity_check' });
  });
});
