import './provided.ts';
import { randomBytes } from 'node:crypto';
import { createDb, type Database } from '@fleet/db';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './template.ts';

export interface TestDatabase {
  /** Name of this test file's own database. */
  name: string;
  /** Superuser URL of that database (owner of every table; bypasses RLS). */
  url: string;
  /** A Kysely instance on `url`, closed by `drop()`. */
  db: Kysely<Database>;
  /** Admin URL of the server, for things like CREATE ROLE. */
  adminUrl: string;
  /** Closes `db` and drops the database (kept when KEEP_TEST_DB=1, for inspection). */
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template: all migrations applied, no rows. */
export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const template = inject('templateDatabase');
  const safeLabel = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20);
  const name = `fleet_${safeLabel}_${randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = withDatabase(adminUrl, name);
  const db = createDb(url, { max: 10, applicationName: `test-${safeLabel}` });
  return {
    name,
    url,
    db,
    adminUrl,
    async drop() {
      await db.destroy();
      if (process.env.KEEP_TEST_DB === '1') return;
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** An empty database with no migrations applied (for migration tests). */
export async function createEmptyDatabase(label = 'empty'): Promise<Omit<TestDatabase, 'db'>> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `fleet_${label}_${randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  return {
    name,
    url: withDatabase(adminUrl, name),
    adminUrl,
    async drop() {
      if (process.env.KEEP_TEST_DB === '1') return;
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Runs one statement on the admin connection. */
export async function adminQuery(adminUrl: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
