import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from './fixtures/spawn-worker.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

const JOBS = 400;
const KILLS = 20;

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let queue: Queue;
let workspaceId: string;
const alive = new Set<WorkerProcess>();

beforeAll(async () => {
  t = await createTestDatabase('rt_crash');
  r = createTestRedis('rt-crash');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
});

afterAll(async () => {
  for (const w of alive) w.child.kill('SIGKILL');
  await producer?.close();
  await queue?.close();
  await r.cleanup();
  await t.drop();
});

describe('workers killed with SIGKILL mid-job', () => {
  it('end every job completed or failed, one row per attempt, none left running', { timeout: 180_000 }, async () => {
    const env = agentEnv(t.url, r.url, r.prefix, {
      JOB_SLEEP_MS: '300',
      TEST_CONCURRENCY: '4',
      LOCK_DURATION_MS: '1500',
      STALLED_INTERVAL_MS: '500',
      MAX_STALLED_COUNT: '3',
      RECONCILE_INTERVAL_MS: '500',
      AUDIT_RUNNING_DELAY_MS: '50',
    });
    const start = () => {
      const w = spawnWorker(env);
      alive.add(w);
      return w;
    };
    let workers = [start(), start()];
    await Promise.all(workers.map((w) => w.ready));

    const enqueued = await Promise.all(
      Array.from({ length: JOBS }, () =>
        producer.enqueue(
          'maintenance_queue',
          'system_health_check',
          { workspace_id: workspaceId },
          {
            attempts: 5,
            backoff: { type: 'fixed', delay: 50 },
          },
        ),
      ),
    );

    // Kill a busy worker, start its replacement, and go on with the other one: the two take
    // turns, so there is always one worker that has been running long enough to hold jobs.
    let kills = 0;
    const started = new Set<WorkerProcess>();
    for (const w of workers) started.add(w);
    while (kills < KILLS) {
      const victim = workers.find((w) => started.has(w));
      if (!victim) {
        await Promise.race(workers.map((w) => w.ready.then(() => started.add(w))));
        continue;
      }
      await waitFor(async () => (await queue.getActiveCount()) > 0 || (await queue.count()) === 0 || undefined, {
        timeoutMs: 30_000,
        what: 'active jobs',
      });
      if ((await queue.count()) === 0) break;
      // pacing of the fault injection, so each victim holds jobs in flight
      await new Promise((res) => setTimeout(res, 250));
      victim.child.kill('SIGKILL');
      await victim.exited;
      alive.delete(victim);
      started.delete(victim);
      kills++;
      const replacement = start();
      void replacement.ready.then(() => started.add(replacement)).catch(() => {});
      workers = workers.map((w) => (w === victim ? replacement : w));
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);

    // Let the survivors finish everything.
    await waitFor(
      async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return c.completed! + c.failed! === JOBS || undefined;
      },
      { timeoutMs: 90_000, what: 'every job to finish' },
    );
    // ...and the reconciler close what the killed workers left open.
    await waitFor(
      async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM autonomous_tasks WHERE status IN ('pending', 'running')`.execute(t.db);
        return rows[0]!.n === 0 || undefined;
      },
      { timeoutMs: 30_000, what: 'no open rows' },
    );

    const rows = await t.db.selectFrom('autonomous_tasks').select(['job_id', 'attempt', 'status']).execute();
    const byJob = new Map<string, Array<{ attempt: number; status: string }>>();
    for (const row of rows) {
      const list = byJob.get(row.job_id!) ?? [];
      list.push({ attempt: row.attempt!, status: row.status });
      byJob.set(row.job_id!, list);
    }
    expect(new Set(rows.map((x) => `${x.job_id}#${x.attempt}`)).size).toBe(rows.length);
    let lostAttempts = 0;
    for (const { jobId } of enqueued) {
      const job = (await queue.getJob(jobId))!;
      const state = await job.getState();
      expect(['completed', 'failed']).toContain(state);
      const attempts = (byJob.get(jobId) ?? []).sort((a, b) => a.attempt - b.attempt);
      // one row for every attempt BullMQ started, no more, no fewer
      expect(attempts.map((a) => a.attempt)).toEqual(Array.from({ length: job.attemptsStarted }, (_, i) => i + 1));
      const last = attempts.at(-1)!;
      expect(last.status).toBe(state === 'completed' ? 'completed' : 'failed');
      lostAttempts += attempts.filter((a) => a.status === 'failed').length;
    }
    // The kills really interrupted jobs.
    expect(lostAttempts).toBeGreaterThan(0);
  });
});
