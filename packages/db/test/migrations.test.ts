/**
 * The migration runner against real databases (empty ones, or clones of the migrated template):
 * it applies every file once, in order, in a transaction, under a lock; it refuses edited history;
 * a broken file leaves no trace. Tests that edit migrations work on a private copy of the folder.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appliedMigrations, createDb, DEFAULT_MIGRATIONS_DIR, MigrationError, migrateToLatest } from '../src/index.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Empty = Awaited<ReturnType<typeof createEmptyDatabase>>;
const databases: Empty[] = [];
// biome-ignore lint/suspicious/noExplicitAny: the runner works on any schema
const kyselies: Kysely<any>[] = [];
const tempDirs: string[] = [];
const clones: TestDatabase[] = [];

afterEach(async () => {
  await Promise.all(kyselies.splice(0).map((db) => db.destroy()));
});

afterAll(async () => {
  await cliRace?.catch(() => {});
  await Promise.all([...databases, ...clones].map((d) => d.drop()));
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function emptyDatabase(): Promise<Empty> {
  const d = await createEmptyDatabase('migrations');
  databases.push(d);
  return d;
}

function connect(url: string) {
  const db = createDb(url, { max: 2, applicationName: 'migrations-test' });
  kyselies.push(db);
  return db;
}

/** A database with every migration applied already (a clone of the test template). */
async function migratedDatabase() {
  const d = await createTestDatabase('migrations');
  clones.push(d);
  return d.db;
}

/** A private copy of migrations/ that a test may edit. */
async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-migrations-'));
  tempDirs.push(dir);
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function migrationNames(dir = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
}

// biome-ignore lint/suspicious/noExplicitAny: any schema
async function checksums(db: Kysely<any>): Promise<Map<string, string>> {
  const { rows } = await sql<{ name: string; sha256: string }>`
    SELECT name, sha256 FROM fleet_migration_checksum ORDER BY name
  `.execute(db);
  return new Map(rows.map((r) => [r.name, r.sha256]));
}

// biome-ignore lint/suspicious/noExplicitAny: any schema
async function exists(db: Kysely<any>, regclass: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`SELECT to_regclass(${regclass}) IS NOT NULL AS found`.execute(db);
  return rows[0]!.found;
}

/**
 * Runs `tsx packages/db/src/bin/migrate.ts` (what `npm run migrate` runs) against `url`. The tsx
 * binary is started directly rather than through npx, which only adds a second of start-up.
 */
function runMigrateCli(url: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['packages/db/src/bin/migrate.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The two `migrate` processes of the concurrency test are started with the file and awaited by
 * that test, so their start-up (a few seconds of tsx on a busy machine) overlaps the other tests.
 * Each test works on its own database, so nothing else here shares their lock or their schema.
 */
let cliRace: Promise<{ url: string; results: CliResult[] }> | undefined;
beforeAll(() => {
  cliRace = (async () => {
    const e = await emptyDatabase();
    return { url: e.url, results: await Promise.all([runMigrateCli(e.url), runMigrateCli(e.url)]) };
  })();
  cliRace.catch(() => {}); // the test awaits it and reports the failure
});

describe('migrateToLatest on an empty database', () => {
  // One database for both tests: migrated once here, migrated again by the second test.
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  let db: Kysely<any>;
  let names: string[];
  let applied: string[];

  beforeAll(async () => {
    const e = await emptyDatabase();
    db = createDb(e.url, { max: 2, applicationName: 'migrations-test' });
    names = await migrationNames();
    ({ applied } = await migrateToLatest(db));
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('applies every file in order, records each with its checksum, and creates the schema', async () => {
    expect(names[0]).toBe('001_platform_baseline');
    expect(names).toContain('043_autonomous_tasks_table');
    expect(applied).toEqual(names);
    expect(await appliedMigrations(db)).toEqual(names);

    const expectedChecksums = new Map<string, string>();
    for (const name of names) {
      const text = await readFile(join(DEFAULT_MIGRATIONS_DIR, `${name}.sql`), 'utf8');
      expectedChecksums.set(name, createHash('sha256').update(text).digest('hex'));
    }
    expect(await checksums(db)).toEqual(expectedChecksums);

    for (const table of [
      'organizations',
      'workspaces',
      'user_organizations',
      'contacts',
      'emails',
      'email_insights',
      'media_files',
      'media_transcripts',
      'daily_analytics',
      'autonomous_tasks',
    ]) {
      expect(await exists(db, table), table).toBe(true);
    }
    const { rows } = await sql<Record<string, unknown>>`
      SELECT
        to_regprocedure('get_autonomous_task_summary(uuid, text, integer)') IS NOT NULL AS summary_fn,
        to_regprocedure('auth.uid()') IS NOT NULL AS auth_uid,
        (SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles
          WHERE rolname IN ('anon', 'authenticated', 'service_role', 'fleet_agent', 'fleet_control_plane')) AS roles,
        (SELECT array_agg(tgname::text ORDER BY tgname) FROM pg_trigger
          WHERE tgrelid = 'autonomous_tasks'::regclass AND NOT tgisinternal) AS triggers,
        (SELECT array_agg(policyname::text ORDER BY policyname) FROM pg_policies
          WHERE tablename = 'autonomous_tasks') AS policies,
        (SELECT array_agg(indexname::text ORDER BY indexname) FROM pg_indexes
          WHERE tablename = 'autonomous_tasks') AS indexes
    `.execute(db);
    expect(rows[0]).toEqual({
      summary_fn: true,
      auth_uid: true,
      roles: ['anon', 'authenticated', 'fleet_agent', 'fleet_control_plane', 'service_role'],
      triggers: ['trigger_autonomous_tasks_updated_at', 'trigger_calculate_duration'],
      policies: [
        'agent_write',
        'control_plane_insert',
        'control_plane_read',
        'control_plane_update',
        'service_role_all_access',
        'workspace_isolation_select',
      ],
      indexes: expect.arrayContaining([
        'autonomous_tasks_pkey',
        'idx_autonomous_tasks_executed_at',
        'idx_autonomous_tasks_workspace_type_executed',
        'uq_autonomous_tasks_job_attempt',
      ]),
    });
  });

  it('is a no-op the second time', async () => {
    const { rows: before } = await sql`SELECT name, timestamp FROM fleet_migration ORDER BY name`.execute(db);

    expect(await migrateToLatest(db)).toEqual({ applied: [] });
    const { rows: after } = await sql`SELECT name, timestamp FROM fleet_migration ORDER BY name`.execute(db);
    expect(after).toEqual(before);
  });
});

describe('concurrent runners', () => {
  it('two runners in one process (two pools, started together) apply each file exactly once', async () => {
    const e = await emptyDatabase();
    const names = await migrationNames();
    const [one, two] = await Promise.all([migrateToLatest(connect(e.url)), migrateToLatest(connect(e.url))]);
    // Both succeed; between them every file was applied once and no file twice.
    expect([...one.applied, ...two.applied].sort()).toEqual(names);

    const db = connect(e.url);
    const { rows } = await sql<{ name: string; n: number }>`
      SELECT name, count(*)::int AS n FROM fleet_migration GROUP BY name ORDER BY name
    `.execute(db);
    expect(rows).toEqual(names.map((name) => ({ name, n: 1 })));
    expect([...(await checksums(db)).keys()]).toEqual(names);
  });

  it('two `migrate` processes started at once both succeed and apply each file exactly once', async () => {
    const { url, results } = await cliRace!;
    const names = await migrationNames();
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });

    // One process reports "Applied N migration(s): a, b, ...", the other "Database is up to date."
    // (or each applied some; in every case no file twice).
    const appliedByCli = results.flatMap(({ stdout }) => {
      const match = /Applied \d+ migration\(s\): (.+)/.exec(stdout);
      if (match) return match[1]!.trim().split(', ');
      expect(stdout).toContain('Database is up to date.');
      return [];
    });
    expect(appliedByCli.sort()).toEqual(names);

    const db = connect(url);
    expect(await appliedMigrations(db)).toEqual(names);
    expect([...(await checksums(db)).keys()]).toEqual(names);
  });
});

describe('refusals', () => {
  it('refuses to run when an already-applied file was changed, and applies nothing', async () => {
    const dir = await copyOfMigrations();
    const db = await migratedDatabase();
    expect(await migrateToLatest(db, { dir })).toEqual({ applied: [] });

    await appendFile(join(dir, '045_autonomous_tasks_job_identity.sql'), '\n-- a harmless-looking edit\n');
    await writeFile(join(dir, '900_new_table.sql'), 'CREATE TABLE added_by_900 (id int);\n');

    const error = await migrateToLatest(db, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain('changed after it was applied');
    expect((error as Error).message).toContain('045_autonomous_tasks_job_identity.sql');
    // The pending file was not applied either.
    expect(await exists(db, 'added_by_900')).toBe(false);
    expect(await appliedMigrations(db)).toEqual(await migrationNames());
  });

  it('reports a failing file by name and leaves nothing of it applied; fixed, it applies', async () => {
    const dir = await copyOfMigrations();
    const db = await migratedDatabase();
    const good = await migrationNames(dir);
    expect(await migrateToLatest(db, { dir })).toEqual({ applied: [] });

    // Two statements succeed before the third fails.
    await writeFile(
      join(dir, '900_broken.sql'),
      `CREATE TABLE half_done (id int);
       INSERT INTO half_done VALUES (1);
       ALTER TABLE autonomous_tasks ADD COLUMN half_done_col text;
       SELECT 1 / 0;\n`,
    );
    const error = await migrateToLatest(db, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain('900_broken.sql');
    expect((error as Error).message).toContain('division by zero');

    expect(await exists(db, 'half_done')).toBe(false);
    const { rows: cols } = await sql`
      SELECT 1 FROM information_schema.columns WHERE table_name = 'autonomous_tasks' AND column_name = 'half_done_col'
    `.execute(db);
    expect(cols).toEqual([]);
    expect(await appliedMigrations(db)).toEqual(good);
    expect([...(await checksums(db)).keys()]).toEqual(good);

    // No checksum was recorded for the failed file, so the fixed file is accepted.
    await writeFile(join(dir, '900_broken.sql'), 'CREATE TABLE half_done (id int);\n');
    expect(await migrateToLatest(db, { dir })).toEqual({ applied: ['900_broken'] });
    expect(await exists(db, 'half_done')).toBe(true);
  });

  it('a failing file in a run of several pending files leaves the database consistent', async () => {
    // A small private set of files: two good ones, then a broken one, all pending in one run.
    const dir = await mkdtemp(join(tmpdir(), 'fleet-migrations-'));
    tempDirs.push(dir);
    await writeFile(join(dir, '001_first.sql'), 'CREATE TABLE first_table (id int);\n');
    await writeFile(join(dir, '002_second.sql'), 'CREATE TABLE second_table (id int);\n');
    await writeFile(join(dir, '003_broken.sql'), 'CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n');
    const e = await emptyDatabase();
    const db = connect(e.url);

    const error = await migrateToLatest(db, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/^Migration 003_broken\.sql failed: division by zero/);
    expect(await exists(db, 'half_done')).toBe(false);
    // Whatever the runner kept of the earlier files (Kysely runs one transaction per run, so today
    // nothing), records, checksums and schema agree, and the rest applies once the file is fixed.
    const recorded = await appliedMigrations(db);
    expect(recorded).not.toContain('003_broken');
    expect([...(await checksums(db)).keys()]).toEqual(recorded);
    expect(await exists(db, 'first_table')).toBe(recorded.includes('001_first'));
    expect(await exists(db, 'second_table')).toBe(recorded.includes('002_second'));

    await writeFile(join(dir, '003_broken.sql'), 'CREATE TABLE half_done (id int);\n');
    const { applied } = await migrateToLatest(db, { dir });
    expect([...recorded, ...applied]).toEqual(['001_first', '002_second', '003_broken']);
    expect(await exists(db, 'half_done')).toBe(true);
  });

  it('rejects a file whose name does not follow NNN_snake_case.sql', async () => {
    const dir = await copyOfMigrations();
    await writeFile(join(dir, '048-Add Things.sql'), 'SELECT 1;\n');
    const e = await emptyDatabase();
    const db = connect(e.url);
    const error = await migrateToLatest(db, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain('048-Add Things.sql');
    expect(await exists(db, 'autonomous_tasks')).toBe(false);
  });
});
