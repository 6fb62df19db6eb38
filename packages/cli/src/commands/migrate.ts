import { createDb, ensureLoginRole, type LoginRole, LoginRoleError, MigrationError, migrateToLatest } from '@fleet/db';
import type { Command } from 'commander';
import { type MigrateEnv, parseMigrateEnv } from '../cli-env.ts';
import type { CliContext } from '../context.ts';
import { ensureDatabase } from '../database.ts';
import { CliError, explainConnectionError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';

export interface MigrateResult {
  createdDatabase: boolean;
  applied: string[];
  /** Login roles created or brought up to date (those whose password variable is set). */
  loginRoles: string[];
}

/** The login roles the environment asks for: agents in fleet_agent, the control plane in fleet_control_plane. */
function loginRolesOf(env: MigrateEnv): LoginRole[] {
  const roles: LoginRole[] = [];
  if (env.AGENT_DATABASE_PASSWORD) {
    roles.push({ name: env.AGENT_DATABASE_USER, password: env.AGENT_DATABASE_PASSWORD, memberOf: 'fleet_agent' });
  }
  if (env.CONTROL_PLANE_DATABASE_PASSWORD) {
    roles.push({
      name: env.CONTROL_PLANE_DATABASE_USER,
      password: env.CONTROL_PLANE_DATABASE_PASSWORD,
      memberOf: 'fleet_control_plane',
    });
  }
  if (roles.length === 2 && roles[0]!.name === roles[1]!.name) {
    throw new CliError(
      `AGENT_DATABASE_USER and CONTROL_PLANE_DATABASE_USER are both ${roles[0]!.name}`,
      ExitCode.config,
      'The agents and the control plane need different roles: set different names.',
    );
  }
  return roles;
}

/**
 * Applies pending migrations to DATABASE_URL, then creates or updates the login roles whose
 * passwords are set; shared by `fleet migrate` and `fleet up`.
 */
export async function runMigrations(ctx: CliContext, options: { createDb?: boolean } = {}): Promise<MigrateResult> {
  const env = parseMigrateEnv(ctx.rawEnv);
  const url = env.DATABASE_URL;
  const roles = loginRolesOf(env);
  let createdDatabase = false;
  const db = createDb(url, { max: 1, applicationName: 'fleet-migrate', connectionTimeoutMillis: 5_000 });
  try {
    if (options.createDb) createdDatabase = await ensureDatabase(url);
    const { applied } = await migrateToLatest(db);
    for (const role of roles) await ensureLoginRole(db, role);
    return { createdDatabase, applied, loginRoles: roles.map((r) => r.name) };
  } catch (error) {
    if (error instanceof MigrationError) throw new CliError(error.message, ExitCode.failure);
    if (error instanceof LoginRoleError) {
      throw new CliError(
        error.message,
        ExitCode.config,
        'Set AGENT_DATABASE_USER / CONTROL_PLANE_DATABASE_USER to roles used for nothing else.',
      );
    }
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
        c.io.stdout(
          `${JSON.stringify({ created_database: result.createdDatabase, applied: result.applied, login_roles: result.loginRoles })}\n`,
        );
        return;
      }
      if (result.createdDatabase) c.io.stdout('Created the database.\n');
      c.io.stdout(
        result.applied.length === 0
          ? 'Database is up to date.\n'
          : `Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}\n`,
      );
      if (result.loginRoles.length > 0) c.io.stdout(`Login roles up to date: ${result.loginRoles.join(', ')}\n`);
    });
}
