#!/usr/bin/env node
/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits non-zero on failure. */
import { createDb } from '../create-db.ts';
import { MigrationError, migrateToLatest } from '../migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error(
    'DATABASE_URL is not set. Example: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run migrate',
  );
  process.exit(2);
}

const db = createDb(url, { max: 1, applicationName: 'fleet-migrate' });
try {
  const { applied } = await migrateToLatest(db);
  console.log(
    applied.length === 0 ? 'Database is up to date.' : `Applied ${applied.length} migration(s): ${applied.join(', ')}`,
  );
} catch (error) {
  console.error(error instanceof MigrationError ? error.message : error);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
