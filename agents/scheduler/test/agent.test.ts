import type { Database } from '@fleet/db';
import { createProducer, createRedis, type Producer, type RedisClient } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CleanupReport } from '../src/cleanup.ts';
import type { HealthReport } from '../src/health-check.ts';
import agent from '../src/index.ts';
import { listSchedulers, TICK_QUEUE } from '../src/reconcile-schedules.ts';
import { SCHEDULE_NAMES } from '../src/schedules.ts';
import { agentEnv, insertTaskRow, seedOrg, seedWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let connection: RedisClient;
let ticks: Queue;
let active: string[];
const running: RunningAgent[] = [];
const DAY = 86_400_000;

const schedulesJson = JSON.stringify({
  continuous_intelligence: { every_ms: 300 },
  system_health_check: { every_ms: 400 },
  // Never within a test run.
  data_cleanup: { cron: '0 0 29 2 *' },
});

beforeAll(async () => {
  t = await createTestDatabase('sched_agent');
  r = createTestRedis('sched-agent');
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  connection = createRedis(r.url, 'producer');
  ticks = new Queue(TICK_QUEUE, { connection, prefix: r.prefix });
  const org = await seedOrg(t.db);
  active = [await seedWorkspace(t.db, org), await seedWorkspace(t.db, org)];
  await seedWorkspace(t.db, org, { active: false });
});

afterAll(async () => {
  await Promise.allSettled(running.map((a) => a.close(5_000)));
  await ticks?.close();
  connection?.disconnect();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

function rowsOf(
  db: Kysely<Database>,
  taskType: 'continuous_intelligence_update' | 'system_health_check' | 'data_cleanup',
) {
  return db.selectFrom('autonomous_tasks').selectAll().where('task_type', '=', taskType).execute();
}

describe('scheduler agent end to end', () => {
  it('two instances starting at once create each schedule once and fan ticks out without duplicates', async () => {
    const env = agentEnv(t.url, r.url, r.prefix, { SCHEDULES_JSON: schedulesJson });
    running.push(...(await Promise.all([startAgent(agent, { env }), startAgent(agent, { env })])));

    const stored = await listSchedulers(ticks);
    expect(stored.map((s) => s.key).sort()).toEqual([...SCHEDULE_NAMES].sort());
    const pending = await ticks.getJobs(['delayed', 'wait'], 0, -1);
    for (const name of SCHEDULE_NAMES) {
      expect(pending.filter((j) => j.repeatJobKey === name).length, name).toBeLessThanOrEqual(1);
    }
    expect(pending.filter((j) => j.repeatJobKey === 'weekly_report')).toHaveLength(1);

    // Several continuous-intelligence ticks pass while nobody consumes their jobs: each active
    // workspace still has exactly one job and one pending audit row.
    await waitFor(
      async () => {
        const done = await ticks.getJobs(['completed'], 0, -1);
        return done.filter((j) => j.repeatJobKey === 'continuous_intelligence').length >= 4;
      },
      { what: 'four continuous_intelligence ticks', timeoutMs: 15_000 },
    );
    const ciJobs = await producer.queue('continuous_intelligence_queue').getJobs(['wait'], 0, -1);
    expect(ciJobs.map((j) => j.data.workspace_id).sort()).toEqual([...active].sort());
    const ciRows = await waitFor(async () => {
      const rows = await rowsOf(t.db, 'continuous_intelligence_update');
      return rows.length === 2 ? rows : undefined;
    });
    await expect(rowsOf(t.db, 'continuous_intelligence_update')).resolves.toHaveLength(2);
    for (const row of ciRows) expect(row).toMatchObject({ status: 'pending', triggered_by: 'cron' });
  });

  it('runs the scheduled health check through maintenance_queue into a completed audit row', async () => {
    // A check that started after the fan-out above sees its two waiting jobs.
    const since = Date.now();
    const row = await waitFor(
      async () =>
        (await rowsOf(t.db, 'system_health_check')).find(
          (x) => x.status === 'completed' && x.executed_at.getTime() > since,
        ),
      { what: 'a completed health check row', timeoutMs: 15_000 },
    );
    expect(row).toMatchObject({
      agent_name: 'scheduler',
      queue_name: 'maintenance_queue',
      triggered_by: 'cron',
      workspace_id: null,
    });
    const out = row.output_data as unknown as HealthReport;
    expect(out.healthy).toBe(true);
    expect(out.redis).toMatchObject({ ok: true, maxmemory_policy: 'noeviction', eviction_safe: true });
    expect(out.postgres.ok).toBe(true);
    expect(out.queues.continuous_intelligence_queue).toMatchObject({ waiting: 2 });
    expect(Object.keys(out.queues)).toContain(TICK_QUEUE);
  });

  it('records an unhealthy finding as a completed check', async () => {
    const stuck = await insertTaskRow(t.db, { status: 'running', ageMs: 3 * 3600_000 });
    const { jobId } = await producer.enqueue('maintenance_queue', 'system_health_check', { stuck_running_minutes: 60 });
    const row = await waitFor(
      async () =>
        (await rowsOf(t.db, 'system_health_check')).find(
          (x) => x.job_id === jobId && x.status !== 'pending' && x.status !== 'running',
        ),
      { what: 'the manual health check to finish', timeoutMs: 15_000 },
    );
    expect(row.status).toBe('completed');
    expect(row.triggered_by).toBe('api');
    const out = row.output_data as unknown as HealthReport;
    expect(out.healthy).toBe(false);
    expect(out.stuck_running?.oldest.map((o) => o.id)).toEqual([stuck]);
    await t.db.deleteFrom('autonomous_tasks').where('id', '=', stuck).execute();
  });

  it('runs data_cleanup through maintenance_queue and reports what it removed', async () => {
    const old = [
      await insertTaskRow(t.db, { status: 'completed', ageMs: 40 * DAY }),
      await insertTaskRow(t.db, { status: 'failed', ageMs: 35 * DAY }),
    ];
    const recent = await insertTaskRow(t.db, { status: 'completed', ageMs: 20 * DAY });
    const { jobId } = await producer.enqueue('maintenance_queue', 'data_cleanup', { retention_days: 30 });
    const row = await waitFor(
      async () => (await rowsOf(t.db, 'data_cleanup')).find((x) => x.job_id === jobId && x.status === 'completed'),
      { what: 'the cleanup to complete', timeoutMs: 15_000 },
    );
    const out = row.output_data as unknown as CleanupReport;
    expect(out).toMatchObject({ retention_days: 30, audit_rows_deleted: 2 });
    expect(Object.keys(out.jobs_removed)).toContain('analytics_queue');
    const left = await t.db
      .selectFrom('autonomous_tasks')
      .select('id')
      .where('id', 'in', [...old, recent])
      .execute();
    expect(left.map((x) => x.id)).toEqual([recent]);
  });

  it('a restart with a changed configuration updates and removes schedules', async () => {
    await Promise.all(running.splice(0).map((a) => a.close(5_000)));
    const env = agentEnv(t.url, r.url, r.prefix, {
      SCHEDULES_JSON: JSON.stringify({
        lead_scoring: { cron: '0 4 * * *' },
        continuous_intelligence: { enabled: false },
      }),
      SCHEDULE_EMAIL_SYNC_CRON: 'off',
      SCHEDULER_TZ: 'America/Chicago',
    });
    running.push(await startAgent(agent, { env }));
    const stored = Object.fromEntries((await listSchedulers(ticks)).map((s) => [s.key, s]));
    expect(Object.keys(stored).sort()).toEqual(
      SCHEDULE_NAMES.filter((n) => n !== 'email_sync' && n !== 'continuous_intelligence').sort(),
    );
    expect(stored.lead_scoring).toMatchObject({ pattern: '0 4 * * *', tz: 'America/Chicago' });
    expect(stored.system_health_check).toMatchObject({ pattern: '*/5 * * * *', tz: 'America/Chicago' });
  });

  it('refuses to start with a bad schedule configuration, naming every problem', async () => {
    const env = agentEnv(t.url, r.url, r.prefix, {
      SCHEDULES_JSON: JSON.stringify({ lead_scoring: { cron: 'nope' } }),
      SCHEDULER_TZ: 'Not/AZone',
    });
    await expect(startAgent(agent, { env })).rejects.toThrow(
      /SCHEDULER_TZ: "Not\/AZone" is not a known IANA time zone[\s\S]*SCHEDULES_JSON\.lead_scoring\.cron/,
    );
  });
});
