import pg from 'pg';
import { CliError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';

/** Postgres' "database does not exist" error code. */
export const INVALID_CATALOG_NAME = '3D000';

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(name)) {
    throw new CliError(
      `Cannot create database "${name}": use letters, digits and underscores only.`,
      ExitCode.config,
      'Fix the database name in DATABASE_URL.',
    );
  }
  return name;
}

/**
 * Creates the database DATABASE_URL names when it does not exist yet (process mode on a fresh
 * machine), by connecting to the server's `postgres` maintenance database. Returns true when it
 * created one.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code !== INVALID_CATALOG_NAME) throw error;
  } finally {
    await probe.end().catch(() => {});
  }
  const name = databaseName(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
    return true;
  } catch (error) {
    // Another process created it between the probe and now.
    if ((error as { code?: string }).code === '42P04') return false;
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
