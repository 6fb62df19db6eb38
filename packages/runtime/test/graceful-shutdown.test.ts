import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker } from './fixtures/spawn-worker.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let queue: Queue;
let events: QueueEvents;
let workspaceId: string;
const stalled: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_sigterm');
  r = createTestRedis('rt-sigterm');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  events = new QueueEvents('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  events.on('stalled', ({ jobId }) => stalled.push(jobId));
  await events.waitUntilReady();
});

afterAll(async () => {
  await events?.close();
  await producer?.close();
  await queue?.close();
  await r.cleanup();
  await t.drop();
});

describe('SIGTERM', () => {
  it('lets running jobs finish, hands back held ones, exits 0, and leaves nothing stalled', {
    timeout: 60_000,
  }, async () => {
    const worker = spawnWorker(
      agentEnv(t.url, r.url, r.prefix, {
        JOB_SLEEP_MS: '800',
        TEST_CONCURRENCY: '5',
        // 5 handler slots and 2 more jobs held, waiting for a slot
        AUDIT_ACK_WINDOW: '2',
        AUDIT_RUNNING_DELAY_MS: '0',
        LOCK_DURATION_MS: '2000',
        STALLED_INTERVAL_MS: '1000',
        SHUTDOWN_GRACE_MS: '20000',
      }),
    );
    await worker.ready;
    const jobs = await Promise.all(
      Array.from({ length: 12 }, () =>
        producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }),
      ),
    );
    const running = await waitFor(
      async () => {
        const rows = await t.db
          .selectFrom('autonomous_tasks')
          .select('job_id')
          .where('status', '=', 'running')
          .execute();
        return rows.length === 5 && (await queue.getActiveCount()) === 7 ? rows.map((x) => x.job_id!) : undefined;
      },
      { what: '5 running and 2 held jobs' },
    );
    const held = (await queue.getActive()).map((j) => j.id!).filter((id) => !running.includes(id));
    expect(held).toHaveLength(2);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);

    // The jobs that were running when the signal came finished and were recorded.
    const rows = await t.db
      .selectFrom('autonomous_tasks')
      .select(['job_id', 'status', 'attempt'])
      .where('job_id', 'in', running)
      .execute();
    expect(rows.map((x) => [x.status, x.attempt])).toEqual(running.map(() => ['completed', 1]));
    for (const id of running) expect(await queue.getJobState(id)).toBe('completed');
    // The held ones, never started, went back to the queue with their attempt recorded.
    const handedBack = await t.db
      .selectFrom('autonomous_tasks')
      .select(['status', 'attempt', 'error_message'])
      .where('job_id', 'in', held)
      .execute();
    expect(handedBack).toEqual(
      held.map(() => ({
        status: 'failed',
        attempt: 1,
        error_message: 'deferred: the worker shut down before the attempt started',
      })),
    );
    for (const id of held) expect(await queue.getJobState(id)).toBe('waiting');
    // The rest are still waiting, untouched, with their pending rows.
    const waiting = jobs.map((j) => j.jobId).filter((id) => !running.includes(id) && !held.includes(id));
    for (const id of waiting) expect(await queue.getJobState(id)).toBe('waiting');
    const pending = await t.db.selectFrom('autonomous_tasks').select('status').where('job_id', 'in', waiting).execute();
    expect(pending.map((x) => x.status)).toEqual(waiting.map(() => 'pending'));
    expect(worker.lines.some((l) => l.msg === 'stopped' && l.drained === true)).toBe(true);

    // A new worker takes the rest; no job was ever reported stalled.
    const next = spawnWorker(agentEnv(t.url, r.url, r.prefix, { JOB_SLEEP_MS: '10' }));
    await next.ready;
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 12 || undefined, {
      timeoutMs: 20_000,
      what: 'all 12 jobs completed',
    });
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    expect(stalled).toEqual([]);
    const retried = await t.db
      .selectFrom('autonomous_tasks')
      .select(['status'])
      .where('job_id', 'in', held)
      .where('attempt', '=', 2)
      .execute();
    expect(retried.map((x) => x.status)).toEqual(['completed', 'completed']);
  });

  it('past the grace period, records the aborted attempts and hands their jobs back: no row stays running', {
    timeout: 60_000,
  }, async () => {
    const worker = spawnWorker(
      agentEnv(t.url, r.url, r.prefix, {
        JOB_SLEEP_MS: '60000',
        TEST_CONCURRENCY: '3',
        SHUTDOWN_GRACE_MS: '1000',
        AUDIT_RUNNING_DELAY_MS: '0',
      }),
    );
    await worker.ready;
    const jobs = await Promise.all(
      Array.from({ length: 3 }, () =>
        producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }),
      ),
    );
    const ids = jobs.map((j) => j.jobId);
    await waitFor(
      async () => {
        const rows = await t.db.selectFrom('autonomous_tasks').select('status').where('job_id', 'in', ids).execute();
        return rows.filter((x) => x.status === 'running').length === 3 || undefined;
      },
      { what: '3 running rows' },
    );
    worker.child.kill('SIGTERM');
    // Not drained within the grace period: exit 1, but nothing left behind.
    expect(await worker.exited).toBe(1);
    const rows = await t.db
      .selectFrom('autonomous_tasks')
      .select(['status', 'error_message'])
      .where('job_id', 'in', ids)
      .execute();
    expect(rows.map((x) => x.status)).toEqual(['failed', 'failed', 'failed']);
    for (const row of rows) expect(row.error_message).toMatch(/worker shutting down.*will retry/);
    for (const id of ids) expect(['delayed', 'waiting']).toContain(await queue.getJobState(id));
    expect(stalled.filter((id) => ids.includes(id))).toEqual([]);
  });
});
