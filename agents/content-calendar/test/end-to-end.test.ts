/**
 * The content-calendar agent through its queue: a job enqueued by the producer syncs a Radicale
 * calendar and leaves a completed audit row with the sync's output; another workspace's calendar
 * id fails permanently; the calendar password appears in no audit column or log line.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContentCalendar } from '../src/content-calendars.ts';
import agentDefinition from '../src/index.ts';
import { type CalDavClient, type Radicale, startRadicale } from './radicale.ts';

const PASSWORD = 'e2e-calendar-password-7f3a';
const key = randomBytes(32);
let t: TestDatabase;
let r: TestRedis;
let radicale: Radicale;
let client: CalDavClient;
let producer: Producer;
let agent: RunningAgent;
const logLines: string[] = [];

beforeAll(async () => {
  [t, radicale] = await Promise.all([createTestDatabase('content_calendar_e2e'), startRadicale()]);
  r = createTestRedis('content-calendar-e2e');
  client = await radicale.addUser('bo', PASSWORD);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(agentDefinition, {
    env: {
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'false',
      METRICS_PROCESS: 'false',
      MAIL_TOKEN_ENCRYPTION_KEY: key.toString('base64'),
      CALDAV_ALLOWED_HOSTS: '127.0.0.1',
    },
    logDestination: new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
}, 30_000);

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await r?.cleanup();
  await radicale?.stop();
  await t?.drop();
});

const rowsOf = (jobId: string) =>
  t.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();

const terminalRows = (jobId: string, status: string) =>
  waitFor(
    async () => {
      const rows = await rowsOf(jobId);
      return rows.some((row) => row.status === status) ? rows : undefined;
    },
    { timeoutMs: 20_000, what: `a ${status} audit row for job ${jobId}` },
  );

describe('content-calendar agent end to end', () => {
  it('syncs a calendar from a queued job and records a completed audit row with the result', async () => {
    const workspaceId = await createWorkspace(t.db);
    const url = await client.makeCalendar('content');
    const calendar = await addContentCalendar(t.db, key, { workspaceId, url, username: 'bo', password: PASSWORD });
    await client.put(
      `${url}webinar.ics`,
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//test//EN',
        'BEGIN:VEVENT',
        'UID:webinar-1',
        'DTSTAMP:20260101T000000Z',
        'DTSTART;TZID=Europe/Paris:20260415T180000',
        'DURATION:PT1H',
        'CATEGORIES:email_send',
        'STATUS:CONFIRMED',
        'SUMMARY:Webinar invitation',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
    );
    const item = await t.db
      .insertInto('content_calendar_items')
      .values({
        workspace_id: workspaceId,
        calendar_id: calendar.id,
        kind: 'post',
        title: 'Spring launch',
        starts_at: new Date('2026-04-01T08:00:00Z'),
        time_zone: 'Europe/London',
        status: 'scheduled',
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    const { jobId } = await producer.enqueue('content_calendar_queue', 'content_calendar_sync', {
      workspace_id: workspaceId,
      calendar_id: calendar.id,
    });
    const rows = await terminalRows(jobId, 'completed');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      task_type: 'content_calendar_sync',
      queue_name: 'content_calendar_queue',
      agent_name: 'content-calendar',
      workspace_id: workspaceId,
      error_message: null,
      output_data: {
        calendar_id: calendar.id,
        method: 'etag-listing',
        token_reset: false,
        pulled: { created: 1, updated: 0, deleted: 0, unchanged: 0 },
        pushed: { created: 1, updated: 0, deleted: 0 },
        conflicts: [],
        deferred: [],
        failed_count: 0,
        failures: [],
      },
    });
    const items = await t.db
      .selectFrom('content_calendar_items')
      .select(['id', 'kind', 'status', 'title', 'starts_at', 'external_href'])
      .where('workspace_id', '=', workspaceId)
      .orderBy('title')
      .execute();
    expect(items).toEqual([
      {
        id: item.id,
        kind: 'post',
        status: 'scheduled',
        title: 'Spring launch',
        starts_at: new Date('2026-04-01T08:00:00Z'),
        external_href: `${new URL(url).pathname}${item.id}.ics`,
      },
      {
        id: expect.any(String),
        kind: 'email_send',
        status: 'scheduled',
        title: 'Webinar invitation',
        starts_at: new Date('2026-04-15T16:00:00Z'),
        external_href: `${new URL(url).pathname}webinar.ics`,
      },
    ]);
    expect((await client.members(url)).sort()).toEqual(items.map((i) => i.external_href).sort());
    // The password was used (Radicale accepted it) and is nowhere in the audit row or the logs.
    expect(JSON.stringify(rows)).not.toContain(PASSWORD);
    expect(logLines.join('')).toContain('content calendar synced');
    expect(logLines.join('')).not.toContain(PASSWORD);
  });

  it("fails permanently, once, for another workspace's calendar", async () => {
    const owner = await createWorkspace(t.db);
    const other = await createWorkspace(t.db);
    const url = await client.makeCalendar('owned');
    const calendar = await addContentCalendar(t.db, key, {
      workspaceId: owner,
      url,
      username: 'bo',
      password: PASSWORD,
    });
    const { jobId } = await producer.enqueue('content_calendar_queue', 'content_calendar_sync', {
      workspace_id: other,
      calendar_id: calendar.id,
    });
    const rows = await terminalRows(jobId, 'failed');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.error_message).toBe(`content calendar ${calendar.id} not found in workspace ${other}`);
    const untouched = await t.db
      .selectFrom('content_calendars')
      .select(['sync_token', 'last_synced_at'])
      .where('id', '=', calendar.id)
      .executeTakeFirstOrThrow();
    expect(untouched).toEqual({ sync_token: null, last_synced_at: null });
  });
});
