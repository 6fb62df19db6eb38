/**
 * Schema drift: the `Database` interface of src/types.ts against the migrated database.
 *
 * TypeScript types are erased at run time, so the interfaces are read from the source text: the
 * `Database` block maps table names to interface names, each `export interface XxxTable { ... }`
 * block lists the columns, one per line. Every difference is collected and reported at once,
 * as `table.column: what is wrong`.
 */
import { readFile } from 'node:fs/promises';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/index.ts';

const TYPES_FILE = new URL('../src/types.ts', import.meta.url);

/** The migration runner's bookkeeping tables; not part of the fleet's schema. */
const RUNNER_TABLES = new Set(['fleet_migration', 'fleet_migration_lock', 'fleet_migration_checksum']);

/** column name -> its TypeScript type as written in the source */
type TsTable = Map<string, string>;

/** Parses the `Database` interface and the table interfaces it names out of types.ts. */
function parseTypes(source: string): Map<string, TsTable> {
  const interfaces = new Map<string, TsTable>();
  for (const match of source.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const [, name, body] = match as unknown as [string, string, string];
    const props: TsTable = new Map();
    const withoutComments = body.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const line of withoutComments.split('\n')) {
      if (line.trim() === '') continue;
      const prop = /^\s*(\w+)\??:\s*(.+?);\s*$/.exec(line);
      if (!prop) {
        throw new Error(
          `schema-drift cannot parse this line of interface ${name} in types.ts (keep one property per line): ${line.trim()}`,
        );
      }
      props.set(prop[1]!, prop[2]!);
    }
    interfaces.set(name, props);
  }
  const database = interfaces.get('Database');
  if (!database) throw new Error('types.ts has no `export interface Database { ... }` block');
  const tables = new Map<string, TsTable>();
  for (const [table, interfaceName] of database) {
    const columns = interfaces.get(interfaceName);
    if (!columns) throw new Error(`Database.${table} names ${interfaceName}, which types.ts does not export`);
    tables.set(table, columns);
  }
  return tables;
}

interface DbColumn {
  table_name: string;
  column_name: string;
  is_nullable: 'YES' | 'NO';
  has_default: boolean;
  is_generated: boolean;
  data_type: string;
}

// biome-ignore lint/suspicious/noExplicitAny: works on a transaction too
async function loadColumns(db: Kysely<any>): Promise<Map<string, Map<string, DbColumn>>> {
  const { rows } = await sql<DbColumn>`
    SELECT c.table_name::text, c.column_name::text, c.is_nullable::text,
           (c.column_default IS NOT NULL OR c.is_identity = 'YES') AS has_default,
           c.is_generated = 'ALWAYS' AS is_generated,
           CASE WHEN c.data_type = 'ARRAY' THEN c.udt_name::text ELSE c.data_type::text END AS data_type
    FROM information_schema.columns c
    JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      -- Partitions (of autonomous_tasks, migration 140) are reached through their parent.
      AND NOT (SELECT relispartition FROM pg_class WHERE oid = format('%I.%I', c.table_schema, c.table_name)::regclass)
    ORDER BY c.table_name, c.ordinal_position
  `.execute(db);
  const tables = new Map<string, Map<string, DbColumn>>();
  for (const row of rows) {
    if (RUNNER_TABLES.has(row.table_name)) continue;
    if (!tables.has(row.table_name)) tables.set(row.table_name, new Map());
    tables.get(row.table_name)!.set(row.column_name, row);
  }
  return tables;
}

/** How each Postgres type must be spelled in types.ts (the driver's runtime representation). */
const TYPE_RULES: Record<string, RegExp> = {
  uuid: /\bstring\b/,
  text: /\bstring\b|'|\bTaskType\b|\bTaskStatus\b/,
  integer: /\bnumber\b/,
  bigint: /\bInt8\b/,
  numeric: /\bNumeric\b/,
  boolean: /\bboolean\b/,
  date: /\bDateOnly\b/,
  'timestamp with time zone': /\bTimestamp\b/,
  jsonb: /\bJson\b|\bJSONColumnType\b/,
  _text: /\bstring\[\]/,
  _uuid: /\bstring\[\]/,
  _int4: /\bnumber\[\]/,
};

const INSERT_OPTIONAL = /^(Generated|WithDefault)</;
const MENTIONS_NULL = /\|\s*null\b|\bnull\s*\|/;
const NOT_WRITABLE = /^ColumnType<.*,\s*never,\s*never>$/;

/** Every difference between the TypeScript tables and the database, one line each. */
function compareSchemas(ts: Map<string, TsTable>, db: Map<string, Map<string, DbColumn>>): string[] {
  const problems: string[] = [];
  for (const table of db.keys()) {
    if (!ts.has(table))
      problems.push(`${table}: table exists in the database but is missing from Database in types.ts`);
  }
  for (const table of ts.keys()) {
    if (!db.has(table)) problems.push(`${table}: in Database in types.ts but no such table in the database`);
  }
  for (const [table, tsColumns] of ts) {
    const dbColumns = db.get(table);
    if (!dbColumns) continue;
    for (const column of dbColumns.keys()) {
      if (!tsColumns.has(column))
        problems.push(`${table}.${column}: column exists in the database but not in types.ts`);
    }
    for (const [column, type] of tsColumns) {
      const c = dbColumns.get(column);
      if (!c) {
        problems.push(`${table}.${column}: in types.ts but no such column in the database`);
        continue;
      }
      const where = `${table}.${column}`;
      const insertOptional = INSERT_OPTIONAL.test(type);
      if (c.is_nullable === 'YES' && !MENTIONS_NULL.test(type) && !(insertOptional && c.has_default)) {
        problems.push(`${where}: nullable in the database but typed without | null (${type})`);
      }
      if (c.is_nullable === 'NO' && MENTIONS_NULL.test(type)) {
        problems.push(`${where}: NOT NULL in the database but typed with null (${type})`);
      }
      if (insertOptional && c.is_nullable === 'NO' && !c.has_default && !c.is_generated) {
        problems.push(`${where}: typed ${type.split('<')[0]}<...> (optional on insert) but has no database default`);
      }
      if (c.is_generated && !NOT_WRITABLE.test(type)) {
        problems.push(`${where}: a generated column, must be typed ColumnType<..., never, never> (${type})`);
      }
      const rule = TYPE_RULES[c.data_type];
      if (!rule) problems.push(`${where}: no TypeScript rule for database type ${c.data_type}; add one to TYPE_RULES`);
      else if (!rule.test(type)) problems.push(`${where}: database type ${c.data_type} but typed ${type}`);
    }
  }
  return problems;
}

let t: TestDatabase;
let tsTables: Map<string, TsTable>;

beforeAll(async () => {
  t = await createTestDatabase('schema_drift');
  tsTables = parseTypes(await readFile(TYPES_FILE, 'utf8'));
});

afterAll(async () => {
  await t?.drop();
});

describe('types.ts matches the migrated database', () => {
  it('parses the Database interface and every table interface it names', () => {
    expect(tsTables.size).toBeGreaterThanOrEqual(14);
    expect(tsTables.get('autonomous_tasks')?.get('duration_ms')).toBe(
      "ColumnType<Int8['__select__'] | null, never, never>",
    );
    // The parser read the same tables the compiler sees.
    const compiled: (keyof Database)[] = ['autonomous_tasks', 'workspaces', 'user_organizations', 'contacts'];
    for (const table of compiled) expect(tsTables.has(table), table).toBe(true);
  });

  it('has the same tables, columns, nullability, defaults and types', async () => {
    const problems = compareSchemas(tsTables, await loadColumns(t.db));
    expect(problems, `types.ts and the migrations disagree:\n  ${problems.join('\n  ')}\n`).toEqual([]);
  });
});

describe('the drift check catches drift (run against schema changes that are rolled back)', () => {
  /**
   * Applies `ddl` in a transaction, compares inside it, rolls back, and returns the problems the
   * change added (so these checks hold whatever the real comparison reports).
   */
  async function problemsAfter(ddl: string): Promise<string[]> {
    const baseline = new Set(compareSchemas(tsTables, await loadColumns(t.db)));
    let problems: string[] = [];
    await t.db
      .transaction()
      .execute(async (trx) => {
        await sql.raw(ddl).execute(trx);
        problems = compareSchemas(tsTables, await loadColumns(trx));
        throw new Error('rollback');
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error) || error.message !== 'rollback') throw error;
      });
    return problems.filter((p) => !baseline.has(p));
  }

  it('a column, a table or a dropped column that types.ts does not know', async () => {
    expect(await problemsAfter('ALTER TABLE autonomous_tasks ADD COLUMN priority integer')).toEqual([
      'autonomous_tasks.priority: column exists in the database but not in types.ts',
    ]);
    expect(await problemsAfter('CREATE TABLE agent_heartbeats (id int)')).toEqual([
      'agent_heartbeats: table exists in the database but is missing from Database in types.ts',
    ]);
    expect(await problemsAfter('ALTER TABLE organizations DROP COLUMN name')).toEqual([
      'organizations.name: in types.ts but no such column in the database',
    ]);
  });

  it('nullability, default and type changes', async () => {
    expect(await problemsAfter('ALTER TABLE organizations ALTER COLUMN name DROP NOT NULL')).toEqual([
      'organizations.name: nullable in the database but typed without | null (string)',
    ]);
    expect(await problemsAfter('ALTER TABLE autonomous_tasks ALTER COLUMN agent_name SET NOT NULL')).toEqual([
      'autonomous_tasks.agent_name: NOT NULL in the database but typed with null (string | null)',
    ]);
    expect(await problemsAfter('ALTER TABLE workspaces ALTER COLUMN timezone DROP DEFAULT')).toEqual([
      'workspaces.timezone: typed Generated<...> (optional on insert) but has no database default',
    ]);
    expect(
      await problemsAfter('ALTER TABLE autonomous_tasks ALTER COLUMN cost_estimate_usd TYPE double precision'),
    ).toEqual([
      'autonomous_tasks.cost_estimate_usd: no TypeScript rule for database type double precision; add one to TYPE_RULES',
    ]);
    expect(await problemsAfter('ALTER TABLE autonomous_tasks ALTER COLUMN attempt TYPE bigint')).toEqual([
      'autonomous_tasks.attempt: database type bigint but typed number | null',
    ]);
  });
});
