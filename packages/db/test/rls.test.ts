/**
 * Row level security on autonomous_tasks, exercised the way PostgREST/Supabase and the agents
 * connect: as a non-superuser login role that SETs ROLE to anon / authenticated / service_role /
 * fleet_agent, with the JWT claims in `request.jwt.claims`. A superuser (the test database's own
 * connection) bypasses RLS and would prove nothing, so the first test checks that this connection
 * is neither a superuser nor the tables' owner nor BYPASSRLS.
 */
import { createPool } from '@fleet/db';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser, errorOf, insertTask } from './helpers.ts';
import { API_ROLES, type ApiRole, ensureTesterRole, TESTER } from './tester-role.ts';

let t: TestDatabase;
let pool: pg.Pool;
let client: pg.PoolClient;

// Fixture: org A with workspaces A1, A2; org B with B1; rows in each and one fleet-level row.
let wsA1: string;
let wsA2: string;
let wsB1: string;
let userA: string; // member of org A
let userB: string; // member of org B
let userNobody: string; // member of nothing
const rowsByWorkspace = new Map<string | null, string[]>();

beforeAll(async () => {
  t = await createTestDatabase('rls');
  await ensureTesterRole(t.adminUrl, t.name);

  const orgA = await createOrg(t.db, 'Org A', 2);
  const orgB = await createOrg(t.db, 'Org B', 1);
  [wsA1, wsA2] = orgA.workspaceIds as [string, string];
  wsB1 = orgB.workspaceIds[0]!;
  userA = await createUser(t.db, [orgA.orgId]);
  userB = await createUser(t.db, [orgB.orgId]);
  userNobody = await createUser(t.db, []);

  const executed_at = new Date(Date.now() - 60 * 60_000);
  const completed_at = new Date(executed_at.getTime() + 2_000);
  for (const [ws, count] of [
    [wsA1, 2],
    [wsA2, 1],
    [wsB1, 2],
    [null, 1],
  ] as const) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const row = await insertTask(t.db, {
        workspace_id: ws,
        task_type: 'email_sync',
        status: 'completed',
        executed_at,
        completed_at,
        cost_estimate_usd: '0.25',
      });
      ids.push(row.id);
    }
    rowsByWorkspace.set(ws, ids);
  }

  const url = new URL(t.url);
  url.username = TESTER;
  url.password = '';
  pool = createPool(url.toString(), { max: 1, applicationName: 'rls-test' });
  client = await pool.connect();
});

afterAll(async () => {
  client?.release();
  await pool?.end();
  await t?.drop();
});

interface Claims {
  sub: string;
  role: string;
}

/**
 * Runs `fn` in a transaction as `role` (SET LOCAL ROLE) with `claims` as the request's JWT claims,
 * the way PostgREST does, then commits (`commit: true`) or rolls back.
 */
async function as<T>(
  role: ApiRole,
  claims: Claims | null,
  fn: (c: pg.PoolClient) => Promise<T>,
  { commit = false } = {},
): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${role}`);
    if (claims) await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    const result = await fn(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

const user = (sub: string): Claims => ({ sub, role: 'authenticated' });

async function visibleIds(c: pg.PoolClient): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>('SELECT id FROM autonomous_tasks ORDER BY id');
  return rows.map((r) => r.id);
}

function idsOf(...workspaces: (string | null)[]): string[] {
  return workspaces.flatMap((ws) => rowsByWorkspace.get(ws) ?? []).sort();
}

/** All rows as the superuser sees them, for checking what the role under test really did. */
async function allRowsAsSuperuser() {
  return t.db.selectFrom('autonomous_tasks').select(['id', 'workspace_id', 'status']).orderBy('id').execute();
}

describe('the connection under test', () => {
  it('is a non-superuser, non-owner, NOBYPASSRLS login role, also after SET ROLE', async () => {
    const { rows } = await client.query(`
      SELECT current_user AS "user", current_setting('is_superuser') AS is_superuser,
             r.rolbypassrls AS bypassrls, t.tableowner
      FROM pg_roles r, pg_tables t
      WHERE r.rolname = current_user AND t.tablename = 'autonomous_tasks'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user: TESTER, is_superuser: 'off', bypassrls: false });
    expect(rows[0].tableowner).not.toBe(TESTER);

    for (const role of API_ROLES) {
      const row = await as(role, null, async (c) => {
        const { rows } = await c.query(`
          SELECT current_user AS "user", current_setting('is_superuser') AS is_superuser,
                 (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user) AS bypasses,
                 pg_has_role(current_user, (SELECT tableowner FROM pg_tables WHERE tablename = 'autonomous_tasks'),
                             'USAGE') AS owns
        `);
        return rows[0];
      });
      expect(row, role).toEqual({ user: role, is_superuser: 'off', bypasses: false, owns: false });
    }
  });

  it('holds no privileges of its own (NOINHERIT): everything below comes from SET ROLE', async () => {
    const error = await errorOf(client.query('SELECT count(*) FROM autonomous_tasks'));
    expect(error).toMatchObject({ code: '42501', message: 'permission denied for table autonomous_tasks' });
  });
});

describe('authenticated users', () => {
  it("see exactly the rows of their organization's workspaces", async () => {
    expect(await as('authenticated', user(userA), visibleIds)).toEqual(idsOf(wsA1, wsA2));
    expect(await as('authenticated', user(userB), visibleIds)).toEqual(idsOf(wsB1));
  });

  it('see nothing of a workspace they do not belong to, even when they ask for it by id', async () => {
    const rows = await as('authenticated', user(userA), async (c) => {
      const { rows } = await c.query('SELECT id FROM autonomous_tasks WHERE workspace_id = $1', [wsB1]);
      return rows;
    });
    expect(rows).toEqual([]);
  });

  it('see no rows at all when they belong to no organization, or carry no claims', async () => {
    expect(await as('authenticated', user(userNobody), visibleIds)).toEqual([]);
    expect(await as('authenticated', null, visibleIds)).toEqual([]);
  });

  it('cannot insert, update or delete, not even in their own workspace', async () => {
    const before = await allRowsAsSuperuser();
    const target = rowsByWorkspace.get(wsA1)![0]!;
    const attempts = {
      insert: `INSERT INTO autonomous_tasks (workspace_id, task_type) VALUES ('${wsA1}', 'email_sync')`,
      update: `UPDATE autonomous_tasks SET status = 'failed' WHERE id = '${target}'`,
      delete: `DELETE FROM autonomous_tasks WHERE id = '${target}'`,
    };
    for (const [what, statement] of Object.entries(attempts)) {
      const error = await errorOf(as('authenticated', user(userA), (c) => c.query(statement), { commit: true }));
      expect(error, what).toMatchObject({ code: '42501', message: 'permission denied for table autonomous_tasks' });
    }
    expect(await allRowsAsSuperuser()).toEqual(before);
  });
});

describe('anon', () => {
  it('is refused outright (permission denied, not an empty result)', async () => {
    const error = await errorOf(as('anon', null, visibleIds));
    expect(error).toMatchObject({ code: '42501', message: 'permission denied for table autonomous_tasks' });

    const insert = await errorOf(
      as('anon', null, (c) => c.query(`INSERT INTO autonomous_tasks (task_type) VALUES ('email_sync')`), {
        commit: true,
      }),
    );
    expect(insert).toMatchObject({ code: '42501' });
  });

  it('cannot call get_autonomous_task_summary', async () => {
    const error = await errorOf(
      as('anon', null, (c) => c.query('SELECT * FROM get_autonomous_task_summary($1, NULL, 24)', [wsA1])),
    );
    expect(error).toMatchObject({
      code: '42501',
      message: 'permission denied for function get_autonomous_task_summary',
    });
  });
});

describe.each(['fleet_agent', 'service_role'] as const)('%s', (role) => {
  it('sees every row, including fleet-level rows without a workspace', async () => {
    expect(await as(role, null, visibleIds)).toEqual(idsOf(wsA1, wsA2, wsB1, null));
  });

  it('can insert, update and delete rows of any workspace', async () => {
    const inserted = await as(
      role,
      null,
      async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO autonomous_tasks (workspace_id, task_type, status, agent_name)
           VALUES ($1, 'contact_enrichment', 'running', $2) RETURNING id`,
          [wsB1, `${role}-writer`],
        );
        return rows[0]!.id;
      },
      { commit: true },
    );
    expect(await t.db.selectFrom('autonomous_tasks').select('status').where('id', '=', inserted).execute()).toEqual([
      { status: 'running' },
    ]);

    const updated = await as(
      role,
      null,
      (c) => c.query(`UPDATE autonomous_tasks SET status = 'completed' WHERE id = $1`, [inserted]),
      { commit: true },
    );
    expect(updated.rowCount).toBe(1);
    expect(await t.db.selectFrom('autonomous_tasks').select('status').where('id', '=', inserted).execute()).toEqual([
      { status: 'completed' },
    ]);

    const deleted = await as(role, null, (c) => c.query('DELETE FROM autonomous_tasks WHERE id = $1', [inserted]), {
      commit: true,
    });
    expect(deleted.rowCount).toBe(1);
    expect(await t.db.selectFrom('autonomous_tasks').select('id').where('id', '=', inserted).execute()).toEqual([]);
  });

  it('gets get_autonomous_task_summary figures for any workspace', async () => {
    const rows = await as(role, null, async (c) => {
      const { rows } = await c.query(
        'SELECT task_type, total_executions FROM get_autonomous_task_summary($1, NULL, 24)',
        [wsB1],
      );
      return rows;
    });
    expect(rows).toEqual([{ task_type: 'email_sync', total_executions: 2 }]);
  });
});

describe('get_autonomous_task_summary as an authenticated user', () => {
  const summary = (sub: string, workspaceId: string) =>
    as('authenticated', user(sub), async (c) => {
      const { rows } = await c.query('SELECT * FROM get_autonomous_task_summary($1, NULL, 24)', [workspaceId]);
      return rows;
    });

  it("returns figures for the caller's own workspace", async () => {
    expect(await summary(userA, wsA1)).toEqual([
      {
        task_type: 'email_sync',
        total_executions: 2,
        successful_executions: 2,
        failed_executions: 0,
        avg_duration_ms: '2000.00',
        total_cost_usd: '0.500000',
        last_execution: expect.any(Date),
      },
    ]);
  });

  it('returns nothing for a workspace the caller does not belong to', async () => {
    expect(await summary(userA, wsB1)).toEqual([]);
    expect(await summary(userNobody, wsA1)).toEqual([]);
    expect(await summary(userB, wsA2)).toEqual([]);
  });
});
