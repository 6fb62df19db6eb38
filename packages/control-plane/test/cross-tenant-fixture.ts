import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AuditWriter, TaskStart } from '@fleet/audit-writer';
import type { Database, JsonObject, TaskStatus } from '@fleet/db';
import { TASK_TYPES } from '@fleet/db';
import { insertContact, insertEmail, insertInsight } from '@fleet/testing';
import { type Kysely, sql } from 'kysely';

/**
 * Two workspaces with data of every kind the agents read and write, and audit rows of every
 * task type, each marked with a workspace-specific canary so a leak is recognisable in any
 * response.
 */
export interface Tenant {
  workspaceId: string;
  /** A string in this workspace's names, subjects and messages, and nowhere else. */
  canary: string;
  contactIds: string[];
  accountId: string;
  refreshToken: string;
  mediaFileId: string;
  /** A CalDAV connection (content_calendars) with one item on the content calendar. */
  calendarId: string;
  /** Audit row ids and job ids of the seeded rows. */
  rowIds: string[];
  jobIds: string[];
}

const STATUSES: TaskStatus[] = ['completed', 'failed', 'partial_failure', 'cancelled', 'running', 'pending'];

export async function seedTenant(
  db: Kysely<Database>,
  logger: AuditWriter,
  opts: {
    label: string;
    addMailAccount: (workspaceId: string, email: string, refreshToken: string) => Promise<string>;
    mediaUrl: (name: string) => string;
    calendarUrl: (name: string) => string;
  },
): Promise<Tenant> {
  const canary = `canary-${opts.label}-${randomBytes(6).toString('hex')}`;
  const org = await db
    .insertInto('organizations')
    .values({ name: `Org ${canary}` })
    .returning('id')
    .executeTakeFirstOrThrow();
  const ws = await db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: `Workspace ${canary}`, timezone: 'UTC' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const workspaceId = ws.id;
  const contactIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = await insertContact(db, workspaceId, {
      email: `person${i}.${canary}@example.org`,
      display_name: `Person ${i} ${canary}`,
      company: i === 0 ? `Company ${canary}` : null,
    });
    contactIds.push(id);
    const sent = new Date(Date.now() - (i + 1) * 3_600_000);
    const emailId = await insertEmail(db, workspaceId, {
      contact_id: id,
      direction: 'inbound',
      sent_at: sent,
      from_address: `person${i}.${canary}@example.org`,
      subject: `Pricing question ${canary} — can we meet on Friday?`,
      body_text: `Hello, please send the quote for ${canary} by tomorrow. Urgent.`,
    });
    // One email already processed (with its insight), the others waiting for extraction.
    if (i === 0) {
      await db.updateTable('emails').set({ processed_at: new Date() }).where('id', '=', emailId).execute();
      await insertInsight(db, workspaceId, { email_id: emailId, intent: `intent ${canary}` });
    }
  }
  const refreshToken = `1//token-${canary}`;
  const accountId = await opts.addMailAccount(workspaceId, `inbox.${opts.label}@example.org`, refreshToken);
  const media = await db
    .insertInto('media_files')
    .values({ workspace_id: workspaceId, source: opts.mediaUrl(`${canary}.wav`), file_name: `${canary}.wav` })
    .returning('id')
    .executeTakeFirstOrThrow();
  const calendar = await db
    .insertInto('content_calendars')
    .values({ workspace_id: workspaceId, url: opts.calendarUrl(canary) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('content_calendar_items')
    .values({
      workspace_id: workspaceId,
      calendar_id: calendar.id,
      kind: 'post',
      title: `Post ${canary}`,
      starts_at: new Date('2026-02-01T09:00:00Z'),
    })
    .execute();
  await db
    .insertInto('daily_analytics')
    .values({ workspace_id: workspaceId, day: '2026-01-01', metrics: { canary } })
    .execute();

  // Audit rows of every task type, in every status, and one old enough for any retention.
  const rowIds: string[] = [];
  const jobIds: string[] = [];
  const starts: { start: TaskStart; status: TaskStatus }[] = TASK_TYPES.map((taskType, i) => ({
    status: STATUSES[i % STATUSES.length]!,
    start: {
      queueName: 'seed_queue',
      jobId: randomUUID(),
      attempt: 1,
      workspaceId,
      taskType,
      agentName: 'seed',
      triggeredBy: 'manual',
      inputData: { canary } as JsonObject,
      executedAt: new Date(Date.now() - (i === 0 ? 400 * 86_400_000 : (i + 1) * 60_000)),
      jobCreatedAt: new Date(Date.now() - (i === 0 ? 400 * 86_400_000 : (i + 1) * 60_000)),
    },
  }));
  for (const { start, status } of starts) {
    if (status === 'pending') await logger.pending(start);
    else if (status === 'running') {
      logger.running(start);
      await logger.flush();
    } else {
      await logger.finish(start, {
        status: status as 'completed',
        outputData: { canary },
        errorMessage: status === 'completed' ? null : `error ${canary}`,
        costUsd: 0.25,
      });
    }
    jobIds.push(start.jobId);
  }
  const rows = await db.selectFrom('autonomous_tasks').select('id').where('workspace_id', '=', workspaceId).execute();
  rowIds.push(...rows.map((r) => r.id));
  return {
    workspaceId,
    canary,
    contactIds,
    accountId,
    refreshToken,
    mediaFileId: media.id,
    calendarId: calendar.id,
    rowIds,
    jobIds,
  };
}

/**
 * Every row of `workspaceId` in every table with a workspace_id column (and its workspace row),
 * as JSON text: equal snapshots mean nothing of the workspace changed.
 */
export async function snapshotWorkspace(db: Kysely<Database>, workspaceId: string): Promise<Record<string, string[]>> {
  const { rows: tables } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = 'workspace_id'
    ORDER BY table_name`.execute(db);
  const out: Record<string, string[]> = {};
  for (const { table_name } of tables) {
    const { rows } = await sql<{ row: string }>`
      SELECT to_jsonb(t)::text AS row FROM ${sql.table(table_name)} t
      WHERE t.workspace_id = ${workspaceId}::uuid ORDER BY 1`.execute(db);
    out[table_name] = rows.map((r) => r.row);
  }
  const { rows } = await sql<{ row: string }>`
    SELECT to_jsonb(w)::text AS row FROM workspaces w WHERE id = ${workspaceId}::uuid`.execute(db);
  out.workspaces = rows.map((r) => r.row);
  return out;
}

/** A local HTTP server standing in for every provider; it records each request and refuses it. */
export async function startRecorder(): Promise<{
  url: string;
  requests: { method: string; url: string; headers: Record<string, unknown>; body: string }[];
  close(): Promise<void>;
}> {
  const requests: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/token')) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
