/** `fleet migrate` creates the agents' and the control plane's login roles from its environment. */
import { randomBytes } from 'node:crypto';
import { adminQuery, createTestDatabase, type TestDatabase } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { captureIO } from './helpers.ts';

const suffix = randomBytes(4).toString('hex');
const AGENT = `fleet_t_mig_agent_${suffix}`;
const CONTROL_PLANE = `fleet_t_mig_cp_${suffix}`;
let t: TestDatabase;

async function migrate(env: NodeJS.ProcessEnv) {
  const io = captureIO();
  const code = await runCli(['migrate', '--json'], { io, env: { DATABASE_URL: t.url, ...env } });
  return { code, out: io.out, err: io.err };
}

beforeAll(async () => {
  t = await createTestDatabase('cli_login_roles');
});

afterAll(async () => {
  await t?.drop();
  for (const role of [AGENT, CONTROL_PLANE]) await adminQuery(t.adminUrl, `DROP ROLE IF EXISTS ${role}`);
});

describe('fleet migrate with login role passwords', () => {
  const env = {
    AGENT_DATABASE_USER: AGENT,
    AGENT_DATABASE_PASSWORD: randomBytes(18).toString('hex'),
    CONTROL_PLANE_DATABASE_USER: CONTROL_PLANE,
    CONTROL_PLANE_DATABASE_PASSWORD: randomBytes(18).toString('hex'),
  };

  it('creates each role in its group, and again changes nothing but the password', async () => {
    for (let run = 0; run < 2; run++) {
      const { code, out, err } = await migrate(env);
      expect(code, err).toBe(ExitCode.ok);
      expect(JSON.parse(out)).toEqual({ created_database: false, applied: [], login_roles: [AGENT, CONTROL_PLANE] });
    }
    const { rows } = await adminQuery(
      t.adminUrl,
      `SELECT r.rolname, g.rolname AS group_name, r.rolcanlogin, r.rolpassword LIKE 'SCRAM-SHA-256$%' AS scram
       FROM pg_authid r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid
       WHERE r.rolname = ANY($1) ORDER BY 1`,
      [[AGENT, CONTROL_PLANE]],
    );
    expect(rows).toEqual([
      { rolname: AGENT, group_name: 'fleet_agent', rolcanlogin: true, scram: true },
      { rolname: CONTROL_PLANE, group_name: 'fleet_control_plane', rolcanlogin: true, scram: true },
    ]);
  });

  it('exits 78 naming the variable when a password is unfit for a connection URL, or both roles share a name', async () => {
    const bad = await migrate({ ...env, AGENT_DATABASE_PASSWORD: 'p@ss/word-but-long-enough' });
    expect(bad.code).toBe(ExitCode.config);
    expect(bad.err).toContain('AGENT_DATABASE_PASSWORD: may contain only letters, digits and - . _ ~');
    expect(bad.err).not.toContain('p@ss/word');
    const same = await migrate({ ...env, CONTROL_PLANE_DATABASE_USER: AGENT });
    expect(same.code).toBe(ExitCode.config);
    expect(same.err).toContain('AGENT_DATABASE_USER and CONTROL_PLANE_DATABASE_USER are both');
  });
});
