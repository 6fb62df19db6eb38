/**
 * Login roles for the processes that connect to the database: each is a dedicated role whose
 * only privileges come from one group role the migrations grant (fleet_agent for the agents,
 * fleet_control_plane for the control plane). Only the migrating owner creates them; the
 * processes themselves never hold more than their group role's rights.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/** A login role to create or bring up to date. */
export interface LoginRole {
  /** The role's name (lower-case letters, digits, `_`). */
  name: string;
  /** Its password; only a SCRAM-SHA-256 verifier of it reaches the server. */
  password: string;
  /** The one group role it is a member of (its only source of privileges). */
  memberOf: string;
}

/** The role cannot be made into a least-privilege login role; the message says why. */
export class LoginRoleError extends Error {
  override name = 'LoginRoleError';
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802 / 7677), in its
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` form. Postgres stores a value in
 * this form as it is, so the plain password never appears in a statement (or a statement log).
 * The password must be ASCII without control characters, where SASLprep changes nothing.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16)): string {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new LoginRoleError('a login role password must be printable ASCII without spaces');
  }
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

interface RoleRow {
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  is_current: boolean;
}

/**
 * Creates the role when it is missing, or brings an existing one in line: LOGIN, INHERIT, the
 * given password, membership of `memberOf` and of nothing else, CONNECT on the current database.
 * Idempotent; safe when two migrators run at once (an advisory lock serialises them). Refuses a
 * role that carries powers of its own (superuser, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS)
 * or is the connected user, instead of silently using it. Returns whether the role was created.
 */
// biome-ignore lint/suspicious/noExplicitAny: works on any schema (it touches only catalogs)
export async function ensureLoginRole(db: Kysely<any>, role: LoginRole): Promise<{ created: boolean }> {
  if (!ROLE_NAME.test(role.name)) {
    throw new LoginRoleError(`login role name "${role.name}" must be lower-case letters, digits and _ (at most 63)`);
  }
  const verifier = scramSha256Verifier(role.password);
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('fleet-login-roles'))`.execute(trx);
    const group = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${role.memberOf}`.execute(trx);
    if (group.rows.length === 0) {
      throw new LoginRoleError(`group role ${role.memberOf} does not exist: apply the migrations first`);
    }
    const { rows } = await sql<RoleRow>`
      SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolname = current_user AS is_current
      FROM pg_roles WHERE rolname = ${role.name}`.execute(trx);
    const existing = rows[0];
    if (existing) {
      const powers = (
        [
          ['SUPERUSER', existing.rolsuper],
          ['CREATEROLE', existing.rolcreaterole],
          ['CREATEDB', existing.rolcreatedb],
          ['REPLICATION', existing.rolreplication],
          ['BYPASSRLS', existing.rolbypassrls],
        ] as const
      )
        .filter(([, has]) => has)
        .map(([name]) => name);
      if (existing.is_current || powers.length > 0) {
        throw new LoginRoleError(
          `role ${role.name} ${existing.is_current ? 'is the user running the migrations' : `has ${powers.join(', ')}`}: ` +
            'a process must log in with a role of its own that has no powers; choose another name',
        );
      }
    } else {
      await sql`CREATE ROLE ${sql.id(role.name)} LOGIN`.execute(trx);
    }
    await sql`ALTER ROLE ${sql.id(role.name)} LOGIN INHERIT PASSWORD ${sql.lit(verifier)}`.execute(trx);
    const { rows: groups } = await sql<{ group: string }>`
      SELECT g.rolname AS group FROM pg_auth_members m
      JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member
      WHERE r.rolname = ${role.name}`.execute(trx);
    for (const { group: other } of groups) {
      if (other !== role.memberOf) await sql`REVOKE ${sql.id(other)} FROM ${sql.id(role.name)}`.execute(trx);
    }
    if (!groups.some((g) => g.group === role.memberOf)) {
      await sql`GRANT ${sql.id(role.memberOf)} TO ${sql.id(role.name)}`.execute(trx);
    }
    const { rows: dbRows } = await sql<{ name: string }>`SELECT current_database() AS name`.execute(trx);
    await sql`GRANT CONNECT ON DATABASE ${sql.id(dbRows[0]!.name)} TO ${sql.id(role.name)}`.execute(trx);
    return { created: !existing };
  });
}
