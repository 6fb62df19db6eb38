import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, type Migration, type MigrationProvider, type MigrationResult, Migrator, sql } from 'kysely';
import { createAheadPartitions, PARTITIONING_MIGRATION, preparePartitioning } from './partitioning.ts';

/** The repository's migrations/ folder. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

const MIGRATION_TABLE = 'fleet_migration';
const LOCK_TABLE = 'fleet_migration_lock';
const CHECKSUM_TABLE = 'fleet_migration_checksum';
const FILE_PATTERN = /^\d{3}_[a-z0-9_]+\.sql$/;

/** Raised when migrations cannot be applied; the message says which file and how to fix it. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

interface SqlFile {
  name: string;
  sql: string;
  sha256: string;
}

async function readSqlFiles(dir: string): Promise<SqlFile[]> {
  const entries = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const bad = entries.filter((f) => !FILE_PATTERN.test(f));
  if (bad.length > 0) {
    throw new MigrationError(
      `Migration file names must look like 001_snake_case.sql; rename: ${bad.join(', ')} (in ${dir})`,
    );
  }
  return Promise.all(
    entries.map(async (file) => {
      const text = await readFile(join(dir, file), 'utf8');
      return { name: file.replace(/\.sql$/, ''), sql: text, sha256: createHash('sha256').update(text).digest('hex') };
    }),
  );
}

/**
 * Each .sql file is one migration. Its checksum is recorded in the same transaction as the file's
 * statements, so "applied" and "checksum known" can never disagree.
 */
function sqlProvider(files: SqlFile[]): MigrationProvider {
  return {
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const file of files) {
        migrations[file.name] = {
          async up(db: Kysely<unknown>) {
            await sql.raw(file.sql).execute(db);
            await sql`INSERT INTO ${sql.table(CHECKSUM_TABLE)} (name, sha256) VALUES (${file.name}, ${file.sha256})`.execute(
              db,
            );
          },
        };
      }
      return migrations;
    },
  };
}

/** Refuses to go on when a file that already ran has changed since: migrations are frozen. */
async function verifyChecksums(db: Kysely<unknown>, files: SqlFile[]): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS ${sql.table(CHECKSUM_TABLE)} (
    name text PRIMARY KEY,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`
    .execute(db)
    .catch((error: unknown) => {
      // Two runners creating the table at the same moment: the loser sees a duplicate; harmless.
      if (!/already exists|duplicate key/.test(String(error))) throw error;
    });
  const { rows } = await sql<{
    name: string;
    sha256: string;
  }>`SELECT name, sha256 FROM ${sql.table(CHECKSUM_TABLE)}`.execute(db);
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const row of rows) {
    const file = byName.get(row.name);
    if (file && file.sha256 !== row.sha256) {
      throw new MigrationError(
        `Migration ${row.name}.sql was changed after it was applied (checksum ${row.sha256.slice(0, 12)} in the database, ` +
          `${file.sha256.slice(0, 12)} on disk). Applied migrations are frozen: restore the file and put the change in a new, higher-numbered migration.`,
      );
    }
  }
}

export interface MigrateOptions {
  /** Folder of NNN_name.sql files; defaults to the repository's migrations/. */
  dir?: string;
}

export interface MigrateOutcome {
  /** Names of the migrations this call applied (empty when the database was already current). */
  applied: string[];
}

/**
 * Applies every pending migration in order inside one transaction (all or nothing), under Kysely's
 * migration lock, so several containers starting at once apply each file exactly once.
 */
// biome-ignore lint/suspicious/noExplicitAny: any schema can be migrated
export async function migrateToLatest(db: Kysely<any>, options: MigrateOptions = {}): Promise<MigrateOutcome> {
  const dir = options.dir ?? DEFAULT_MIGRATIONS_DIR;
  const files = await readSqlFiles(dir);
  await verifyChecksums(db, files);
  if (files.some((f) => f.name === PARTITIONING_MIGRATION) && !(await isApplied(db, PARTITIONING_MIGRATION))) {
    await preparePartitioning(db);
  }
  const migrator = new Migrator({
    db,
    provider: sqlProvider(files),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: LOCK_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    const where = failed ? `Migration ${failed.migrationName}.sql failed` : 'Migrations could not run';
    const cause = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`${where}: ${cause}. Nothing from that file was applied; fix it and run migrate again.`, {
      cause: error,
    });
  }
  if (await isApplied(db, PARTITIONING_MIGRATION)) await createAheadPartitions(db);
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

// biome-ignore lint/suspicious/noExplicitAny: any schema
async function isApplied(db: Kysely<any>, name: string): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM ${sql.table(CHECKSUM_TABLE)} WHERE name = ${name}`.execute(db);
  return (rows[0]?.n ?? 0) > 0;
}

/** Names of applied migrations, oldest first. */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)} ORDER BY name`.execute(
    db,
  );
  return rows.map((r) => r.name);
}
