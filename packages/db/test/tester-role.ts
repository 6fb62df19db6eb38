/**
 * The non-superuser login role the row level security tests connect as (rls.test.ts,
 * partitioning.test.ts): it holds nothing itself and SETs ROLE to an API role, like PostgREST.
 */
import { waitFor } from '@fleet/testing';
import pg from 'pg';

export const TESTER = 'fleet_rls_tester';
export const API_ROLES = ['anon', 'authenticated', 'service_role', 'fleet_agent'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/**
 * Creates the login role once per cluster. Roles are cluster-wide and other test files (and other
 * test runs) may do the same at the same moment, so creation is serialised with an advisory lock on
 * the admin database, duplicate errors are swallowed, and a lost race ("tuple concurrently
 * updated") is simply retried.
 */
export async function ensureTesterRole(adminUrl: string, database: string): Promise<void> {
  await waitFor(
    async () => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query('BEGIN');
        await admin.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${TESTER}-role`]);
        await admin.query(`
          DO $$
          BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TESTER}') THEN
              CREATE ROLE ${TESTER} LOGIN;
            END IF;
          EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
          END $$`);
        // NOINHERIT: on its own the login role holds no privileges; everything a test sees comes
        // from the role it SETs, exactly like PostgREST's authenticator.
        await admin.query(
          `ALTER ROLE ${TESTER} LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION`,
        );
        await admin.query(`GRANT ${API_ROLES.join(', ')} TO ${TESTER}`);
        await admin.query(`GRANT CONNECT ON DATABASE ${database} TO ${TESTER}`);
        await admin.query('COMMIT');
        return true;
      } catch (error) {
        await admin.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        await admin.end();
      }
    },
    { timeoutMs: 10_000, intervalMs: 50, what: `role ${TESTER}` },
  );
}
