import { createDb, MigrationError, migrateToLatest } from '@fleet/db';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { ensureDatabase } from '../database.ts';
import { CliError, explainConnectionError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';

export interface MigrateResult {
  createdDatabase: boolean;
  applied: string[];
}

/** Applies pending migrations to DATABASE_URL; shared by `fleet migrate` and `fleet up`. */
export async function runMigrations(ctx: CliContext, options: { createDb?: boolean } = {}): Promise<MigrateResult> {
  const url = ctx.env().DATABASE_URL;
  let createdDatabase = false;
  const db = createDb(url, { max: 1, applicationName: 'fleet-migrate', connectionTimeoutMillis: 5_000 });
  try {
    if (options.createDb) createdDatabase = await ensureDatabase(url);
    const { applied } = await migrateToLatest(db);
    return { createdDatabase, applied };
  } catch (error) {
    if (error instanceof MigrationError) throw new CliError(error.message, ExitCode.failure);
    throw explainConnectionError(error, 'Postgres', url);
  } finally {
    await db.destroy().catch(() => {});
  }
}

export function registerMigrate(program: Command, ctx: () => CliContext): void {
  program
    .command('migrate')
    .description('Apply pending SQL migrations (migrations/*.sql) to DATABASE_URL, in order, under a lock.')
    .option('--create-db', 'create the database first when it does not exist')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Safe to run from several places at once: a lock makes each file apply exactly once. Applied files
are frozen; a changed one stops the run with the name of the file.

Examples:
  $ fleet migrate
  $ DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleet fleet migrate --create-db`,
    )
    .action(async (opts: { createDb?: boolean; json?: boolean }) => {
      const c = ctx();
      const result = await runMigrations(c, { createDb: opts.createDb });
      if (opts.json) {
        c.io.stdout(`${JSON.stringify({ created_database: result.createdDatabase, applied: result.applied })}\n`);
        return;
      }
      if (result.createdDatabase) c.io.stdout('Created the database.\n');
      c.io.stdout(
        result.applied.length === 0
          ? 'Database is up to date.\n'
          : `Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}\n`,
      );
    });
}
