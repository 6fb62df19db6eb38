/**
 * The login roles `fleet migrate` makes for the agents and the control plane: each logs in, does
 * its work, and is refused what it must not do. Roles are cluster-wide, so every name here is
 * unique to the run and dropped afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createAuditWriter } from '@fleet/audit-writer';
import { startControlPlane } from '@fleet/control-plane';
import {
  adminQuery,
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  insertContact,
  type TestDatabase,
  type TestRedis,
} from '@fleet/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database, ensureLoginRole, LoginRoleError, scramSha256Verifier } from '../src/index.ts';
import { errorOf } from './helpers.ts';

const suffix = randomBytes(4).toString('hex');
const AGENT = `fleet_t_agent_${suffix}`;
const CONTROL_PLANE = `fleet_t_cp_${suffix}`;
const SCRATCH = `fleet_t_scratch_${suffix}`;
const ROLES = [AGENT, CONTROL_PLANE, SCRATCH];
const password = () => randomBytes(18).toString('hex');
const INSUFFICIENT_PRIVILEGE = '42501';

let t: TestDatabase;
let r: TestRedis;
let workspaceId: string;

/** A URL of the test database for `role` (this server trusts local logins; the role is what counts). */
function urlAs(role: string, pw: string): string {
  const u = new URL(t.url);
  u.username = role;
  u.password = pw;
  return u.toString();
}

async function storedVerifier(role: string): Promise<string> {
  const { rows } = await adminQuery(t.adminUrl, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
  return rows[0].rolpassword;
}

/** The verifier `password` would have with the salt of the stored one. */
function verifierWithSaltOf(stored: string, pw: string): string {
  const salt = /^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(stored)?.[1];
  if (!salt) throw new Error(`not a SCRAM-SHA-256 verifier: ${stored.slice(0, 20)}…`);
  return scramSha256Verifier(pw, Buffer.from(salt, 'base64'));
}

/** The SQLSTATE a statement fails with, or 'succeeded'. */
async function denied(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return 'succeeded';
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

beforeAll(async () => {
  t = await createTestDatabase('login_roles');
  r = createTestRedis('login-roles');
  workspaceId = await createWorkspace(t.db);
});

afterAll(async () => {
  await r?.cleanup();
  await t?.drop();
  for (const role of ROLES) await adminQuery(t.adminUrl, `DROP ROLE IF EXISTS ${role}`).catch(() => {});
});

describe('scramSha256Verifier', () => {
  it('computes the verifier Postgres itself stores for a password', async () => {
    const pw = password();
    await adminQuery(t.adminUrl, `CREATE ROLE ${SCRATCH} NOLOGIN`);
    await adminQuery(t.adminUrl, `SET password_encryption = 'scram-sha-256'; ALTER ROLE ${SCRATCH} PASSWORD '${pw}'`);
    const stored = await storedVerifier(SCRATCH);
    expect(stored.startsWith('SCRAM-SHA-256$4096:')).toBe(true);
    expect(verifierWithSaltOf(stored, pw)).toBe(stored);
    expect(verifierWithSaltOf(stored, `${pw}x`)).not.toBe(stored);
  });
});

describe('ensureLoginRole', () => {
  it('creates the role once, rotates its password, and keeps it to its one group role', async () => {
    const first = password();
    expect(await ensureLoginRole(t.db, { name: AGENT, password: first, memberOf: 'fleet_agent' })).toEqual({
      created: true,
    });
    expect(verifierWithSaltOf(await storedVerifier(AGENT), first)).toBe(await storedVerifier(AGENT));

    // Someone hands it more; running migrate again takes it back and sets the new password.
    await adminQuery(t.adminUrl, `GRANT pg_read_all_data TO ${AGENT}`);
    const second = password();
    expect(await ensureLoginRole(t.db, { name: AGENT, password: second, memberOf: 'fleet_agent' })).toEqual({
      created: false,
    });
    const stored = await storedVerifier(AGENT);
    expect(verifierWithSaltOf(stored, second)).toBe(stored);
    expect(verifierWithSaltOf(stored, first)).not.toBe(stored);
    const { rows } = await adminQuery(
      t.adminUrl,
      `SELECT r.rolcanlogin, r.rolsuper, r.rolinherit, r.rolbypassrls,
              array(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                    WHERE m.member = r.oid ORDER BY 1) AS groups
       FROM pg_roles r WHERE r.rolname = $1`,
      [AGENT],
    );
    expect(rows[0]).toEqual({
      rolcanlogin: true,
      rolsuper: false,
      rolinherit: true,
      rolbypassrls: false,
      groups: ['fleet_agent'],
    });
  });

  it('refuses a role with powers of its own, and the migrating user itself', async () => {
    await adminQuery(t.adminUrl, `ALTER ROLE ${SCRATCH} CREATEROLE`);
    const powerful = await errorOf(
      ensureLoginRole(t.db, { name: SCRATCH, password: password(), memberOf: 'fleet_agent' }),
    );
    expect(powerful).toBeInstanceOf(LoginRoleError);
    expect(powerful.message).toContain(`role ${SCRATCH} has CREATEROLE`);

    const { rows } = await sql<{ me: string }>`SELECT current_user AS me`.execute(t.db);
    const self = await errorOf(
      ensureLoginRole(t.db, { name: rows[0]!.me, password: password(), memberOf: 'fleet_agent' }),
    );
    expect(self.message).toContain('is the user running the migrations');

    const missingGroup = await errorOf(
      ensureLoginRole(t.db, { name: SCRATCH, password: password(), memberOf: 'nope_group' }),
    );
    expect(missingGroup.message).toContain('group role nope_group does not exist');
  });
});

describe('the agents’ login role (a member of fleet_agent)', () => {
  let db: Kysely<Database>;
  beforeAll(async () => {
    const pw = password();
    await ensureLoginRole(t.db, { name: AGENT, password: pw, memberOf: 'fleet_agent' });
    db = createDb(urlAs(AGENT, pw), { max: 2 });
  });
  afterAll(() => db?.destroy());

  it('does the agents’ work: platform tables, the audit trail through its writer, retention deletes', async () => {
    const { rows } = await sql<{ who: string; su: string }>`
      SELECT current_user AS who, current_setting('is_superuser') AS su`.execute(db);
    expect(rows[0]).toEqual({ who: AGENT, su: 'off' });
    const contact = await db
      .insertInto('contacts')
      .values({ workspace_id: workspaceId, email: 'ada@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.updateTable('contacts').set({ lead_score: 80, lead_tier: 'hot' }).where('id', '=', contact.id).execute();
    await db
      .insertInto('emails')
      .values({
        workspace_id: workspaceId,
        contact_id: contact.id,
        provider_message_id: `m-${suffix}`,
        direction: 'inbound',
        from_address: 'ada@example.com',
        sent_at: new Date(),
      })
      .execute();
    await db.selectFrom('mail_accounts').select('refresh_token_encrypted').execute();
    expect(await db.selectFrom('workspaces').select('id').execute()).toEqual([{ id: workspaceId }]);

    const logger = createAuditWriter({ db });
    const start = {
      queueName: 'contact_intelligence_queue',
      jobId: randomUUID(),
      attempt: 1,
      workspaceId,
      taskType: 'lead_scoring_batch' as const,
      agentName: 'contact-intelligence',
      triggeredBy: 'api',
      inputData: {},
      executedAt: new Date(),
      jobCreatedAt: new Date(),
    };
    await logger.finish(start, { status: 'completed' });
    await logger.close();
    const row = await db.selectFrom('autonomous_tasks').select('status').where('job_id', '=', start.jobId).execute();
    expect(row).toEqual([{ status: 'completed' }]);
    // data_cleanup deletes old audit rows.
    const deleted = await db.deleteFrom('autonomous_tasks').where('job_id', '=', start.jobId).executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(1n);
    // ...and expired idempotency keys, through the one function that may (it cannot read them).
    for (const [key, hoursAgo] of [
      ['expired', 48],
      ['live', 1],
    ] as const) {
      await t.db
        .insertInto('idempotency_keys')
        .values({
          principal: `agent-test-${suffix}`,
          key,
          request_hash: 'h',
          queue_name: 'analytics_queue',
          job_name: 'monthly_summary',
          job_id: randomUUID(),
          workspace_id: workspaceId,
          created_at: new Date(Date.now() - hoursAgo * 3_600_000),
        })
        .execute();
    }
    const { rows: purged } = await sql<{ n: number }>`
      SELECT purge_expired_idempotency_keys(now() - interval '24 hours', NULL, 100) AS n`.execute(db);
    expect(purged).toEqual([{ n: 1 }]);
    expect(
      (
        await t.db
          .selectFrom('idempotency_keys')
          .select('key')
          .where('principal', '=', `agent-test-${suffix}`)
          .execute()
      ).map((k) => k.key),
    ).toEqual(['live']);
    // The reconciler resolves enqueues whose outcome was unknown.
    await db
      .insertInto('unconfirmed_enqueues')
      .values({ queue_name: 'q', job_id: `j-${suffix}`, reason: 'timeout' })
      .execute();
    expect((await db.selectFrom('unconfirmed_enqueues').select('job_id').execute()).length).toBe(1);
    expect((await db.deleteFrom('unconfirmed_enqueues').executeTakeFirst()).numDeletedRows).toBe(1n);
  });

  it('cannot read the control plane’s keys or the migration records', async () => {
    for (const table of ['api_keys', 'idempotency_keys', 'fleet_migration', 'fleet_migration_checksum']) {
      expect(await denied(sql`SELECT * FROM ${sql.table(table)}`.execute(db)), table).toBe(INSUFFICIENT_PRIVILEGE);
    }
    expect(await denied(sql`SELECT key_hash FROM api_keys`.execute(db))).toBe(INSUFFICIENT_PRIVILEGE);
  });

  it('cannot change the schema, truncate tables or add triggers', async () => {
    for (const ddl of [
      sql`CREATE TABLE agent_made (id int)`,
      sql`CREATE SCHEMA agent_schema`,
      sql`ALTER TABLE contacts ADD COLUMN agent_column text`,
      sql`DROP TABLE emails`,
      sql`TRUNCATE autonomous_tasks`,
      sql`TRUNCATE daily_analytics`,
      sql`CREATE TRIGGER agent_made BEFORE UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION update_autonomous_tasks_updated_at()`,
      sql`CREATE ROLE agent_made_role`,
    ]) {
      const code = await denied(ddl.execute(db));
      expect(code, ddl.compile(db).sql).toBe(INSUFFICIENT_PRIVILEGE);
    }
  });
});

describe('the control plane’s login role (a member of fleet_control_plane)', () => {
  let db: Kysely<Database>;
  let url: string;
  beforeAll(async () => {
    const pw = password();
    await ensureLoginRole(t.db, { name: CONTROL_PLANE, password: pw, memberOf: 'fleet_control_plane' });
    url = urlAs(CONTROL_PLANE, pw);
    db = createDb(url, { max: 2 });
  });
  afterAll(() => db?.destroy());

  it('runs the real control plane: keys, enqueue with an idempotency key, tasks, summary, stats, cancel, retry', async () => {
    const adminKey = `admin-${randomBytes(16).toString('hex')}`;
    const cp = await startControlPlane({
      env: {
        DATABASE_URL: url,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        CONTROL_PLANE_PORT: '0',
        CONTROL_PLANE_HOST: '127.0.0.1',
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: 'silent',
        LOG_PRETTY: 'false',
      },
    });
    try {
      const call = async (method: string, path: string, key: string, body?: unknown, headers = {}) => {
        const res = await fetch(`${cp.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : null };
      };
      const created = await call('POST', '/v1/api-keys', adminKey, { name: 'tenant', workspace_ids: [workspaceId] });
      expect(created.status, created.text).toBe(201);
      const tenant = created.json.key as string;
      expect((await call('GET', '/v1/api-keys', adminKey)).json.api_keys).toHaveLength(1);

      const job = { payload: { workspace_id: workspaceId } };
      const enq = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', tenant, job, {
        'idempotency-key': `k-${suffix}`,
      });
      expect(enq.status, enq.text).toBe(201);
      expect(enq.json.status).toBe('pending');
      const again = await call('POST', '/v1/jobs/analytics_queue/daily_analytics_rollup', tenant, job, {
        'idempotency-key': `k-${suffix}`,
      });
      expect(again.status, again.text).toBe(200);
      expect(again.json.job_id).toBe(enq.json.job_id);

      const list = await call('GET', '/v1/tasks', tenant);
      expect(list.status, list.text).toBe(200);
      expect(list.json.tasks.map((x: { job_id: string }) => x.job_id)).toEqual([enq.json.job_id]);
      expect((await call('GET', enq.json.status_url, tenant)).status).toBe(200);
      const sum = await call('GET', `/v1/summary?workspace_id=${workspaceId}`, tenant);
      expect(sum.status, sum.text).toBe(200);
      expect((await call('GET', '/v1/stats', tenant)).status).toBe(200);
      const page = await call('GET', '/dashboard/content', adminKey);
      expect(page.status, page.text.slice(0, 200)).toBe(200);

      const cancel = await call('POST', `/v1/tasks/${enq.json.job_id}/cancel?queue=analytics_queue`, tenant, {});
      expect(cancel.status, cancel.text).toBe(200);
      const retry = await call('POST', `/v1/tasks/${enq.json.job_id}/retry?queue=analytics_queue`, tenant, {});
      expect(retry.status, retry.text).toBe(201);
      const rows = await t.db
        .selectFrom('autonomous_tasks')
        .select(['job_id', 'status'])
        .orderBy('created_at')
        .execute();
      expect(rows).toEqual([
        { job_id: enq.json.job_id, status: 'cancelled' },
        { job_id: retry.json.job_id, status: 'pending' },
      ]);

      const revoked = await call('DELETE', `/v1/api-keys/${created.json.id}`, adminKey);
      expect(revoked.status, revoked.text).toBe(200);
      expect((await call('GET', '/v1/tasks', tenant)).status).toBe(401);
    } finally {
      await cp.close();
    }
  });

  it('records the enqueues Redis did not confirm', async () => {
    await db
      .insertInto('unconfirmed_enqueues')
      .values({ queue_name: 'q', job_id: `cp-${suffix}`, reason: 'timeout' })
      .execute();
    expect(await denied(sql`DELETE FROM unconfirmed_enqueues`.execute(db))).toBe(INSUFFICIENT_PRIVILEGE);
    await t.db.deleteFrom('unconfirmed_enqueues').where('job_id', '=', `cp-${suffix}`).execute();
  });

  it('cannot delete audit rows or read what only agents need (contacts, mail, tokens)', async () => {
    await insertContact(t.db, workspaceId);
    expect(await denied(sql`DELETE FROM autonomous_tasks`.execute(db))).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await denied(sql`TRUNCATE autonomous_tasks`.execute(db))).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await denied(sql`DELETE FROM api_keys`.execute(db))).toBe(INSUFFICIENT_PRIVILEGE);
    for (const table of ['contacts', 'emails', 'mail_accounts', 'media_files', 'fleet_migration']) {
      expect(await denied(sql`SELECT * FROM ${sql.table(table)}`.execute(db)), table).toBe(INSUFFICIENT_PRIVILEGE);
    }
    expect(await denied(sql`UPDATE workspaces SET name = 'x'`.execute(db))).toBe(INSUFFICIENT_PRIVILEGE);
  });

  it('cannot change the schema', async () => {
    for (const ddl of [
      sql`CREATE TABLE cp_made (id int)`,
      sql`CREATE SCHEMA cp_schema`,
      sql`ALTER TABLE autonomous_tasks ADD COLUMN cp_column text`,
      sql`DROP TABLE api_keys`,
      sql`CREATE ROLE cp_made_role`,
    ]) {
      expect(await denied(ddl.execute(db)), ddl.compile(db).sql).toBe(INSUFFICIENT_PRIVILEGE);
    }
  });
});
