/**
 * Properties a database linter (Supabase's among them) checks, asserted on a fresh migrate with
 * our own catalog queries, so a later migration that breaks one fails here:
 *  - policies call auth.* and current_setting() once per statement, as a scalar subquery
 *    (`(SELECT auth.uid())`, an InitPlan), never once per row;
 *  - at most one permissive policy per table, role and command;
 *  - no extension lives in `public`: pgcrypto is in `extensions`, and its functions still work;
 *  - every function of the project has a fixed search_path.
 * A second database starts as a Supabase project does (pgcrypto already in `extensions`), so the
 * same files are shown to leave it as it was.
 */
import { createEmptyDatabase } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '../src/index.ts';

type Empty = Awaited<ReturnType<typeof createEmptyDatabase>>;
// biome-ignore lint/suspicious/noExplicitAny: catalog queries only
let db: Kysely<any>;
let fresh: Empty;

beforeAll(async () => {
  fresh = await createEmptyDatabase('linter');
  db = createDb(fresh.url, { max: 2, applicationName: 'linter-test' });
  await migrateToLatest(db);
});
afterAll(async () => {
  await db?.destroy();
  await fresh?.drop();
});

/** Functions whose value is the same for every row of a statement: call them once, not per row. */
const PER_STATEMENT_CALL = /\b(auth\.[a-z_]+|current_setting)\(/g;

interface PolicyRow {
  table: string;
  name: string;
  permissive: boolean;
  roles: string[];
  cmd: string;
  qual: string | null;
  check: string | null;
}

async function policies(): Promise<PolicyRow[]> {
  const { rows } = await sql<PolicyRow>`
    SELECT c.relname AS table, p.polname AS name, p.polpermissive AS permissive, p.polcmd AS cmd,
           CASE WHEN p.polroles = '{0}' THEN ARRAY['public']
                ELSE ARRAY(SELECT rolname::text FROM pg_roles WHERE oid = ANY (p.polroles) ORDER BY 1) END AS roles,
           pg_get_expr(p.polqual, p.polrelid) AS qual,
           pg_get_expr(p.polwithcheck, p.polrelid) AS check
    FROM pg_policy p
    JOIN pg_class c ON c.oid = p.polrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1, 2`.execute(db);
  return rows;
}

/**
 * The calls in a policy expression that run per row: every auth.*() or current_setting() call
 * that is not the whole select list of a scalar subquery. Postgres prints `(SELECT auth.uid())`
 * back as `( SELECT auth.uid() AS uid)`.
 */
function perRowCalls(expression: string | null): string[] {
  if (!expression) return [];
  const calls: string[] = [];
  for (const match of expression.matchAll(PER_STATEMENT_CALL)) {
    const before = expression.slice(0, match.index);
    const call = callAt(expression, match.index!);
    const after = expression.slice(match.index! + call.length);
    if (!/\(\s*SELECT\s+$/i.test(before) || !/^(\s+AS\s+\w+)?\s*\)/i.test(after)) calls.push(call);
  }
  return calls;
}

/** The call starting at `start`, up to its matching parenthesis. */
function callAt(text: string, start: number): string {
  let depth = 0;
  for (let i = text.indexOf('(', start); i < text.length; i++) {
    if (text[i] === '(') depth++;
    if (text[i] === ')' && --depth === 0) return text.slice(start, i + 1);
  }
  return text.slice(start);
}

describe('on a fresh migrate', () => {
  it('policies call auth.* and current_setting() once per statement, not once per row', async () => {
    const all = await policies();
    expect(all.length).toBeGreaterThan(5);
    const offenders = all.flatMap((p) =>
      [...perRowCalls(p.qual), ...perRowCalls(p.check)].map((call) => `${p.table}.${p.name}: ${call}`),
    );
    expect(offenders).toEqual([]);
    // The membership policies do use auth.uid(): the check above looked at real calls.
    const uses = all.filter((p) => /auth\.uid\(\)/.test(`${p.qual} ${p.check}`)).map((p) => `${p.table}.${p.name}`);
    expect(uses).toEqual(
      expect.arrayContaining([
        'autonomous_tasks.workspace_isolation_select',
        'organizations.member_read_own',
        'user_organizations.member_read_own',
        'workspaces.member_read_own',
      ]),
    );
    // And the check itself tells the two forms apart.
    expect(perRowCalls('(user_id = auth.uid())')).toEqual(['auth.uid()']);
    expect(perRowCalls("(x = current_setting('a.b'::text, true))")).toEqual(["current_setting('a.b'::text, true)"]);
    expect(perRowCalls('(user_id = ( SELECT auth.uid() AS uid))')).toEqual([]);
  });

  it('has at most one permissive policy per table, role and command', async () => {
    const all = await policies();
    const named = new Set(all.flatMap((p) => p.roles).filter((r) => r !== 'public'));
    const everyone = [...new Set([...named, 'anon', 'authenticated', 'service_role', 'fleet_agent'])];
    const commands: Record<string, string[]> = {
      '*': ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
      r: ['SELECT'],
      a: ['INSERT'],
      w: ['UPDATE'],
      d: ['DELETE'],
    };
    const count = new Map<string, string[]>();
    for (const p of all.filter((x) => x.permissive)) {
      for (const role of p.roles.includes('public') ? everyone : p.roles) {
        for (const cmd of commands[p.cmd]!) {
          const key = `${p.table} ${role} ${cmd}`;
          count.set(key, [...(count.get(key) ?? []), p.name]);
        }
      }
    }
    const overlapping = [...count].filter(([, names]) => names.length > 1).map(([k, n]) => `${k}: ${n.join(', ')}`);
    expect(overlapping).toEqual([]);
    expect(count.get('autonomous_tasks authenticated SELECT')).toEqual(['workspace_isolation_select']);
    expect(count.get('autonomous_tasks fleet_agent SELECT')).toEqual(['agent_write']);
    expect(count.get('autonomous_tasks service_role SELECT')).toEqual(['service_role_all_access']);
  });

  it('keeps extensions out of public: pgcrypto lives in the extensions schema', async () => {
    const { rows } = await sql<{ extname: string; schema: string }>`
      SELECT e.extname, n.nspname AS schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname <> 'plpgsql' ORDER BY 1`.execute(db);
    expect(rows).toContainEqual({ extname: 'pgcrypto', schema: 'extensions' });
    expect(rows.filter((r) => r.schema === 'public')).toEqual([]);
  });

  it("still runs pgcrypto's functions, schema-qualified, for the roles that write", async () => {
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      for (const role of ['fleet_agent', 'service_role', 'authenticated']) {
        await client.query('BEGIN');
        await client.query(`SET LOCAL ROLE ${role}`);
        const { rows } = await client.query(
          `SELECT length(extensions.gen_random_bytes(16)) AS bytes,
                  encode(extensions.digest('abc', 'sha256'), 'hex') AS sha256,
                  gen_random_uuid() IS NOT NULL AS uuid`,
        );
        await client.query('ROLLBACK');
        expect(rows[0], role).toEqual({
          bytes: 16,
          sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
          uuid: true,
        });
      }
    } finally {
      await client.end();
    }
  });

  it('gives every function of the project a fixed search_path', async () => {
    const { rows } = await sql<{ fn: string; config: string[] | null }>`
      SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS fn,
             p.proconfig AS config
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'extensions')
        AND n.nspname NOT LIKE 'pg\\_%'
        -- functions an extension brings are the extension's business
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
      ORDER BY 1`.execute(db);
    expect(rows.map((r) => r.fn)).toEqual(expect.arrayContaining(['public.normalize_email(address text)']));
    const unfixed = rows.filter((r) => !(r.config ?? []).some((c) => c.startsWith('search_path='))).map((r) => r.fn);
    expect(unfixed).toEqual([]);
  });
});

describe('on a database that has pgcrypto in extensions already (as Supabase does)', () => {
  it('migrates and leaves it there', async () => {
    const supabaseLike = await createEmptyDatabase('linter_sb');
    const client = new pg.Client({ connectionString: supabaseLike.url });
    await client.connect();
    // biome-ignore lint/suspicious/noExplicitAny: catalog queries only
    const other: Kysely<any> = createDb(supabaseLike.url, { max: 2, applicationName: 'linter-test' });
    try {
      await client.query('CREATE SCHEMA extensions; CREATE EXTENSION pgcrypto WITH SCHEMA extensions');
      await migrateToLatest(other);
      const { rows } = await client.query(
        `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pgcrypto'`,
      );
      expect(rows).toEqual([{ schema: 'extensions' }]);
    } finally {
      await client.end();
      await other.destroy();
      await supabaseLike.drop();
    }
  });
});
