import { randomUUID } from 'node:crypto';
import { createTaskLogger } from '@fleet/task-logger';
import { adminQuery, createTestDatabase, type TestDatabase, waitFor } from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../src/index.ts';
import { createOrg, errorOf } from './helpers.ts';

/** A login role with nothing but membership in fleet_agent: how agents should connect. */
const LOGIN = 'fleet_agent_login_tester';

let t: TestDatabase;
let agentUrl: string;

beforeAll(async () => {
  t = await createTestDatabase('agent_role');
  await waitFor(
    async () => {
      await adminQuery(
        t.adminUrl,
        `DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${LOGIN}') THEN CREATE ROLE ${LOGIN} LOGIN; END IF;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
      );
      await adminQuery(t.adminUrl, `ALTER ROLE ${LOGIN} LOGIN NOSUPERUSER NOBYPASSRLS INHERIT`);
      await adminQuery(t.adminUrl, `GRANT fleet_agent TO ${LOGIN}`);
      await adminQuery(t.adminUrl, `GRANT CONNECT ON DATABASE ${t.name} TO ${LOGIN}`);
      return true;
    },
    { timeoutMs: 10_000, what: `role ${LOGIN}` },
  );
  const u = new URL(t.url);
  u.username = LOGIN;
  agentUrl = u.toString();
});
afterAll(() => t.drop());

describe('a login role that is only a member of fleet_agent', () => {
  it('does the agents’ work on every table, and cannot touch the migration records', async () => {
    const {
      workspaceIds: [workspaceId],
    } = await createOrg(t.db, 'Agents');
    if (!workspaceId) throw new Error('no workspace');
    const db = createDb(agentUrl, { max: 2 });
    try {
      const { rows } = await sql<{ su: string }>`SELECT current_setting('is_superuser') AS su`.execute(db);
      expect(rows[0]!.su).toBe('off');
      // tables from the baseline, from agents' migrations and from the control plane's
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
          provider_message_id: 'm-1',
          direction: 'inbound',
          from_address: 'ada@example.com',
          sent_at: new Date(),
        })
        .execute();
      await sql`SELECT count(*) FROM api_keys`.execute(db);
      // data_cleanup deletes expired idempotency keys; the reconciler resolves unconfirmed enqueues.
      await db
        .insertInto('idempotency_keys')
        .values({ principal: 'p', key: 'k', request_hash: 'h', queue_name: 'q', job_name: 'j', job_id: 'x' })
        .execute();
      expect(Number((await db.deleteFrom('idempotency_keys').executeTakeFirst()).numDeletedRows)).toBe(1);
      await db.insertInto('unconfirmed_enqueues').values({ queue_name: 'q', job_id: 'x', reason: 'timeout' }).execute();
      expect(Number((await db.deleteFrom('unconfirmed_enqueues').executeTakeFirst()).numDeletedRows)).toBe(1);
      // the audit trail, through the one writer, and the retention delete
      const logger = createTaskLogger({ db });
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
      };
      await logger.finish(start, { status: 'completed' });
      await logger.close();
      expect(await db.selectFrom('autonomous_tasks').select('status').execute()).toEqual([{ status: 'completed' }]);
      await db.deleteFrom('autonomous_tasks').where('job_id', '=', start.jobId).execute();

      for (const table of ['fleet_migration', 'fleet_migration_checksum']) {
        const error = await errorOf(sql`SELECT * FROM ${sql.table(table)}`.execute(db));
        expect(error.code, table).toBe('42501');
      }
    } finally {
      await db.destroy();
    }
  });
});
