/**
 * The five "Verification Tests" of seed/MIGRATION_043_SUCCESS.md, run as SQL against the fully
 * migrated schema. The seed's example workspace id is not a UUID (see constraints.test.ts), so
 * these use real workspaces; everything else is the seed's SQL.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR } from '../src/index.ts';
import { createOrg, insertTask, UUID_RE } from './helpers.ts';

let t: TestDatabase;
let workspaceId: string;
let otherWorkspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('seed_verification');
  const org = await createOrg(t.db, 'Seed org', 2);
  [workspaceId, otherWorkspaceId] = org.workspaceIds as [string, string];
});

afterAll(async () => {
  await t?.drop();
});

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe('seed Test 1: insert a task', () => {
  it('computes duration_ms ≈ 300000 for executed_at 5 minutes before completed_at', async () => {
    const { rows } = await sql<{
      id: string;
      task_type: string;
      status: string;
      duration_ms: number | null;
      executed_at: Date;
      completed_at: Date | null;
    }>`
      INSERT INTO autonomous_tasks (
        workspace_id, task_type, status, input_data, executed_at, completed_at,
        triggered_by, agent_name, cost_estimate_usd
      ) VALUES (
        ${workspaceId},
        'system_health_check',
        'completed',
        '{"check_type": "database", "tables_checked": 19}'::jsonb,
        NOW() - INTERVAL '5 minutes',
        NOW(),
        'system',
        'test-migration-verification',
        0.000
      )
      RETURNING id, task_type, status, duration_ms, executed_at, completed_at
    `.execute(t.db);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.id).toMatch(UUID_RE);
    expect(row.task_type).toBe('system_health_check');
    expect(row.status).toBe('completed');
    expect(row.completed_at).toBeInstanceOf(Date);
    expect(row.completed_at!.getTime() - row.executed_at.getTime()).toBe(5 * MINUTE);
    expect(row.duration_ms).not.toBeNull();
    expect(Math.abs(row.duration_ms! - 300_000)).toBeLessThanOrEqual(1);

    // "All fields populated correctly": read the row back as stored.
    const stored = await t.db
      .selectFrom('autonomous_tasks')
      .selectAll()
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      workspace_id: workspaceId,
      input_data: { check_type: 'database', tables_checked: 19 },
      output_data: {},
      triggered_by: 'system',
      agent_name: 'test-migration-verification',
      cost_estimate_usd: '0.000000',
      duration_ms: row.duration_ms,
      error_message: null,
    });
  });
});

describe('seed Test 2: query recent tasks', () => {
  it('returns the newest 10 rows of the workspace, newest first, with the seed columns', async () => {
    const now = Date.now();
    // 12 rows in the workspace, one minute apart, inserted out of order; 3 newer rows elsewhere.
    const minutesAgo = [7, 0, 11, 3, 9, 1, 5, 10, 2, 8, 4, 6];
    for (const m of minutesAgo) {
      await insertTask(t.db, {
        workspace_id: workspaceId,
        task_type: 'email_sync',
        status: 'completed',
        executed_at: new Date(now - (m + 1) * MINUTE),
        agent_name: `recent-${m}`,
      });
    }
    for (let i = 0; i < 3; i++) {
      await insertTask(t.db, {
        workspace_id: otherWorkspaceId,
        executed_at: new Date(now + i * MINUTE),
        agent_name: 'other-workspace',
      });
    }

    const { rows } = await sql<Record<string, unknown>>`
      SELECT task_type, status, duration_ms, cost_estimate_usd, executed_at, agent_name
      FROM autonomous_tasks
      WHERE workspace_id = ${workspaceId} AND agent_name LIKE 'recent-%'
      ORDER BY executed_at DESC
      LIMIT 10
    `.execute(t.db);

    expect(rows).toHaveLength(10);
    expect(Object.keys(rows[0]!)).toEqual([
      'task_type',
      'status',
      'duration_ms',
      'cost_estimate_usd',
      'executed_at',
      'agent_name',
    ]);
    expect(rows.map((r) => r.agent_name)).toEqual(Array.from({ length: 10 }, (_, m) => `recent-${m}`));
    const times = rows.map((r) => (r.executed_at as Date).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));

    // The seed's query without the marker filter: still only this workspace's rows.
    const { rows: all } = await sql<{ workspace_id: string }>`
      SELECT workspace_id FROM autonomous_tasks WHERE workspace_id = ${workspaceId}
      ORDER BY executed_at DESC LIMIT 10
    `.execute(t.db);
    expect(all.every((r) => r.workspace_id === workspaceId)).toBe(true);
  });
});

describe('seed Test 3: get_autonomous_task_summary', () => {
  let ws: string;
  let foreignWs: string;
  let newestEmailSync: Date;
  let now: number;

  beforeAll(async () => {
    const org = await createOrg(t.db, 'Summary org', 2);
    [ws, foreignWs] = org.workspaceIds as [string, string];
    now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo);
    const done = (msAgo: number, durationMs: number) => ({
      executed_at: at(msAgo),
      completed_at: new Date(now - msAgo + durationMs),
    });
    newestEmailSync = at(10 * MINUTE);
    const rows = [
      // email_sync inside 24 h: 3 completed, 1 failed, 1 partial_failure, 1 still running
      { task_type: 'email_sync', status: 'completed', ...done(1.5 * HOUR, 1000), cost_estimate_usd: '0.10' },
      { task_type: 'email_sync', status: 'completed', ...done(2 * HOUR, 2000), cost_estimate_usd: '0.20' },
      { task_type: 'email_sync', status: 'completed', ...done(2.5 * HOUR, 4000), cost_estimate_usd: '0.05' },
      { task_type: 'email_sync', status: 'failed', ...done(3 * HOUR, 500), cost_estimate_usd: '0.01' },
      { task_type: 'email_sync', status: 'partial_failure', ...done(4 * HOUR, 1500) },
      { task_type: 'email_sync', status: 'running', executed_at: newestEmailSync },
      // email_sync 30 h ago: only in windows of 30 h and more
      { task_type: 'email_sync', status: 'completed', ...done(30 * HOUR, 9000), cost_estimate_usd: '1.00' },
      // lead_scoring_batch inside 24 h
      { task_type: 'lead_scoring_batch', status: 'completed', ...done(5 * HOUR, 3000) },
      { task_type: 'lead_scoring_batch', status: 'cancelled', ...done(6 * HOUR, 100) },
      // media_transcription 100 h ago: only in the 7-day window
      { task_type: 'media_transcription', status: 'failed', ...done(100 * HOUR, 60_000), cost_estimate_usd: '0.5' },
    ] as const;
    for (const row of rows) await insertTask(t.db, { workspace_id: ws, ...row });
    // Another workspace's rows must never be counted.
    await insertTask(t.db, {
      workspace_id: foreignWs,
      task_type: 'email_sync',
      status: 'completed',
      ...done(1 * HOUR, 777),
      cost_estimate_usd: '5',
    });
  });

  it('returns the 7 documented columns with correct counts, costs and averages (24 h, all types)', async () => {
    const { rows } = await sql<Record<string, unknown>>`
      SELECT * FROM get_autonomous_task_summary(${ws}::uuid, NULL, 24)
    `.execute(t.db);
    expect(rows.map((r) => Object.keys(r))).toEqual([
      [
        'task_type',
        'total_executions',
        'successful_executions',
        'failed_executions',
        'avg_duration_ms',
        'total_cost_usd',
        'last_execution',
      ],
      expect.any(Array),
    ]);
    expect(rows).toEqual([
      {
        task_type: 'email_sync',
        total_executions: 6,
        successful_executions: 3,
        failed_executions: 2, // failed + partial_failure
        avg_duration_ms: '1800.00', // (1000+2000+4000+500+1500)/5; the running row has no duration
        total_cost_usd: '0.360000',
        last_execution: newestEmailSync,
      },
      {
        task_type: 'lead_scoring_batch',
        total_executions: 2,
        successful_executions: 1,
        failed_executions: 0,
        avg_duration_ms: '1550.00',
        total_cost_usd: '0.000000',
        last_execution: new Date(now - 5 * HOUR),
      },
    ]);
  });

  it('respects the task_type filter', async () => {
    const { rows } = await sql<{ task_type: string; total_executions: number }>`
      SELECT task_type, total_executions FROM get_autonomous_task_summary(${ws}::uuid, 'lead_scoring_batch', 24)
    `.execute(t.db);
    expect(rows).toEqual([{ task_type: 'lead_scoring_batch', total_executions: 2 }]);

    const { rows: none } = await sql`
      SELECT * FROM get_autonomous_task_summary(${ws}::uuid, 'monthly_summary', 24)
    `.execute(t.db);
    expect(none).toEqual([]);
  });

  it('respects the hours_back window', async () => {
    const summary = async (hours: number) =>
      (
        await sql<{ task_type: string; total_executions: number; total_cost_usd: string; avg_duration_ms: string }>`
          SELECT task_type, total_executions, total_cost_usd, avg_duration_ms
          FROM get_autonomous_task_summary(${ws}::uuid, NULL, ${hours})
        `.execute(t.db)
      ).rows;

    // 1 h: only the running email_sync (10 minutes ago); avg over no durations is NULL.
    expect(await summary(1)).toEqual([
      { task_type: 'email_sync', total_executions: 1, total_cost_usd: '0.000000', avg_duration_ms: null },
    ]);
    // 48 h adds the 30 h old email_sync.
    expect(await summary(48)).toEqual([
      { task_type: 'email_sync', total_executions: 7, total_cost_usd: '1.360000', avg_duration_ms: '3000.00' },
      { task_type: 'lead_scoring_batch', total_executions: 2, total_cost_usd: '0.000000', avg_duration_ms: '1550.00' },
    ]);
    // The seed's second example: 7 days (168 h) adds media_transcription.
    expect((await summary(168)).map((r) => [r.task_type, r.total_executions])).toEqual([
      ['email_sync', 7],
      ['lead_scoring_batch', 2],
      ['media_transcription', 1],
    ]);
  });
});

describe('seed Test 4: RLS policies', () => {
  it('has row level security enabled on autonomous_tasks', async () => {
    const { rows } = await sql<{ tablename: string; rowsecurity: boolean }>`
      SELECT tablename, rowsecurity FROM pg_tables WHERE tablename = 'autonomous_tasks'
    `.execute(t.db);
    expect(rows).toEqual([{ tablename: 'autonomous_tasks', rowsecurity: true }]);
  });

  it('has exactly the policies of 043 as amended by 046 (system_insert replaced by agent_write), 105 (membership filter for authenticated only) and 115', async () => {
    // The seed's query, plus the roles each policy applies to.
    const { rows } = await sql<Record<string, unknown>>`
      SELECT
        policyname,
        cmd,
        roles::text[] AS roles,
        CASE WHEN qual IS NOT NULL THEN 'USING clause present' ELSE 'No USING clause' END AS has_using,
        CASE WHEN with_check IS NOT NULL THEN 'WITH CHECK present' ELSE 'No WITH CHECK' END AS has_check
      FROM pg_policies
      WHERE tablename = 'autonomous_tasks'
      ORDER BY policyname
    `.execute(t.db);
    expect(rows.map((r) => r.policyname)).not.toContain('system_insert');
    expect(rows).toEqual([
      {
        policyname: 'agent_write',
        cmd: 'ALL',
        roles: ['fleet_agent'],
        has_using: 'USING clause present',
        has_check: 'WITH CHECK present',
      },
      // 115: the control plane reads and records audit rows, and never deletes one.
      {
        policyname: 'control_plane_insert',
        cmd: 'INSERT',
        roles: ['fleet_control_plane'],
        has_using: 'No USING clause',
        has_check: 'WITH CHECK present',
      },
      {
        policyname: 'control_plane_read',
        cmd: 'SELECT',
        roles: ['fleet_control_plane'],
        has_using: 'USING clause present',
        has_check: 'No WITH CHECK',
      },
      {
        policyname: 'control_plane_update',
        cmd: 'UPDATE',
        roles: ['fleet_control_plane'],
        has_using: 'USING clause present',
        has_check: 'WITH CHECK present',
      },
      {
        policyname: 'service_role_all_access',
        cmd: 'ALL',
        roles: ['service_role'],
        has_using: 'USING clause present',
        has_check: 'WITH CHECK present',
      },
      {
        policyname: 'workspace_isolation_select',
        cmd: 'SELECT',
        roles: ['authenticated'],
        has_using: 'USING clause present',
        has_check: 'No WITH CHECK',
      },
    ]);
  });
});

describe('seed Test 5: indexes', () => {
  /** Indexes the migration files create on autonomous_tasks (minus the ones they drop), in order. */
  async function indexesInMigrations(only?: (file: string) => boolean): Promise<Set<string>> {
    const names = new Set<string>();
    for (const file of (await readdir(DEFAULT_MIGRATIONS_DIR))
      .filter((f) => f.endsWith('.sql') && (only?.(f) ?? true))
      .sort()) {
      const text = (await readFile(join(DEFAULT_MIGRATIONS_DIR, file), 'utf8')).replace(/--.*$/gm, '');
      const statements =
        /CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(?:ONLY\s+)?(?:public\.)?(\w+)|DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?:public\.)?(\w+)/gi;
      for (const [, created, table, dropped] of text.matchAll(statements)) {
        // 140 builds the partitioned table as autonomous_tasks_partitioned and renames it; the
        // old table, with its autonomous_tasks_legacy_* keys, becomes a partition.
        const live = table === 'autonomous_tasks' || table === 'autonomous_tasks_partitioned';
        if (created && live && !created.startsWith('autonomous_tasks_legacy_')) names.add(created);
        if (dropped) names.delete(dropped);
      }
    }
    return names;
  }

  it('043 creates the 8 seed indexes; the live table has exactly what the migrations leave, and no other', async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'autonomous_tasks' ORDER BY indexname
    `.execute(t.db);
    const defs = new Map(rows.map((r) => [r.indexname, r.indexdef]));
    const seedIndexes = [
      'idx_autonomous_tasks_workspace_id',
      'idx_autonomous_tasks_task_type',
      'idx_autonomous_tasks_status',
      'idx_autonomous_tasks_executed_at',
      'idx_autonomous_tasks_type_status_executed',
      'idx_autonomous_tasks_workspace_type_executed',
      'idx_autonomous_tasks_agent_name',
      'idx_autonomous_tasks_output_data',
    ];
    const jobIdentity = ['uq_autonomous_tasks_job_attempt', 'idx_autonomous_tasks_open'];
    const fromSeed = await indexesInMigrations((f) => f.startsWith('043_'));
    expect([...fromSeed].sort()).toEqual([...seedIndexes].sort());
    const fromMigrations = await indexesInMigrations();
    for (const name of jobIdentity) expect(fromMigrations.has(name), name).toBe(true);
    // 091 dropped three no query uses (prefixes of composites, status alone) and 131 the agent_name
    // index (six values, no query filters on it alone). 091 also dropped the GIN index, which 130
    // brings back as jsonb_path_ops for SQL over output_data.
    for (const name of [
      'idx_autonomous_tasks_workspace_id',
      'idx_autonomous_tasks_task_type',
      'idx_autonomous_tasks_status',
      'idx_autonomous_tasks_agent_name',
    ]) {
      expect(fromMigrations.has(name), name).toBe(false);
    }
    expect(fromMigrations.has('idx_autonomous_tasks_output_data')).toBe(true);
    expect([...defs.keys()].sort()).toEqual(['autonomous_tasks_pkey', ...fromMigrations].sort());

    // The shapes the seed describes.
    // 140: a partitioned table's keys contain its partition key, created_at (docs/partitioning.md).
    expect(defs.get('autonomous_tasks_pkey')).toMatch(/UNIQUE INDEX .* USING btree \(id, created_at\)$/);
    expect(defs.get('idx_autonomous_tasks_executed_at')).toContain('(executed_at DESC)');
    expect(defs.get('idx_autonomous_tasks_type_status_executed')).toContain('(task_type, status, executed_at DESC)');
    expect(defs.get('idx_autonomous_tasks_workspace_type_executed')).toContain(
      '(workspace_id, task_type, executed_at DESC)',
    );
    expect(defs.get('idx_autonomous_tasks_output_data')).toMatch(/USING gin \(output_data jsonb_path_ops\)$/);
    expect(defs.get('uq_autonomous_tasks_job_attempt')).toMatch(
      /^CREATE UNIQUE INDEX .* \(queue_name, job_id, attempt, created_at\)$/,
    );
    expect(defs.get('idx_autonomous_tasks_open')).toMatch(/\(queue_name, executed_at\) WHERE \(status = ANY/);
  });

  it('serves containment and jsonpath queries over output_data from idx_autonomous_tasks_output_data', async () => {
    await insertTask(t.db, { workspace_id: workspaceId, output_data: { contacts_scored: 7, failed: ['c-1'] } });
    await insertTask(t.db, { workspace_id: workspaceId, output_data: { contacts_scored: 8 } });
    const plan = async (where: string) => {
      // On a table this small a sequential scan is cheaper; forbid it to see which index the planner can use.
      const { rows } = await t.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        return sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT id FROM autonomous_tasks WHERE ${sql.raw(where)}`.execute(
          trx,
        );
      });
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    expect(await plan(`output_data @> '{"failed": ["c-1"]}'`)).toContain('idx_autonomous_tasks_output_data');
    expect(await plan(`output_data @@ '$.contacts_scored == 8'`)).toContain('idx_autonomous_tasks_output_data');
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM autonomous_tasks WHERE output_data @> '{"failed": ["c-1"]}'`.execute(t.db);
    expect(rows[0]!.n).toBe(1);
  });
});
