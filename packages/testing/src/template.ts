import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDb, DEFAULT_MIGRATIONS_DIR, migrateToLatest } from '@fleet/db';
import pg from 'pg';

/** Replaces the database name in a connection URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function migrationsHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()) {
    hash.update(file).update(await readFile(join(dir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Makes sure a migrated template database exists for the current migrations and returns its
 * name. The name carries a hash of the migration files, so a changed migration gets a fresh
 * template, and concurrent test runs with the same files share one (an advisory lock serialises
 * its creation).
 */
export async function ensureTemplate(adminUrl: string, dir = DEFAULT_MIGRATIONS_DIR): Promise<string> {
  const name = `fleet_tpl_${await migrationsHash(dir)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', ['fleet-test-template']);
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building}`);
      await admin.query(`CREATE DATABASE ${building}`);
      const db = createDb(withDatabase(adminUrl, building), { max: 1 });
      try {
        await migrateToLatest(db, { dir });
      } finally {
        await db.destroy();
      }
      // Renamed only once complete, so a half-migrated template is never used.
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
    return name;
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', ['fleet-test-template']).catch(() => {});
    await admin.end();
  }
}
