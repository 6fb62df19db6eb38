/**
 * Crash recovery with the default worker timing, where no supervisor sees a worker die (a
 * container): five workers, each running a long job, are killed with SIGKILL a moment apart;
 * each job's lost attempt must be closed and the job running again on the surviving worker within
 * 30 s. Meanwhile the survivor runs a job longer than the lock, which must keep its lock (renewed
 * while it runs) and finish on its first attempt. Prints the median and maximum recovery time.
 */
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_TIMING } from '../src/index.ts';
import { spawnWorker, type WorkerProcess } from './fixtures/spawn-worker.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

const VICTIMS = 5;

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let queue: Queue;
let events: QueueEvents;
let workspaceId: string;
const workers: WorkerProcess[] = [];
const stalled: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_recovery');
  r = createTestRedis('rt-recovery');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  events = new QueueEvents('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  events.on('stalled', ({ jobId }) => stalled.push(jobId));
  await events.waitUntilReady();
});

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await events?.close();
  await queue?.close();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

/** The runtime's defaults: no LOCK_*, STALLED_* or RECONCILE_* override. */
function defaultTimingEnv(extra: Record<string, string>) {
  const { RECONCILE_INTERVAL_MS: _, ...env } = agentEnv(t.url, r.url, r.prefix, extra);
  return env;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const enqueue = () =>
  producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }, { attempts: 3 });

describe('default worker timing, workers killed with SIGKILL mid-job', () => {
  it(`recovers each job within 30 s (${VICTIMS} kills) while a live long job keeps its lock`, {
    timeout: 120_000,
  }, async () => {
    // Victims: one job each, whose first attempt would run for two minutes.
    for (let i = 0; i < VICTIMS; i++) {
      workers.push(
        spawnWorker(
          defaultTimingEnv({
            TEST_CONCURRENCY: '1',
            FIRST_ATTEMPT_SLEEP_MS: '120000',
            // Each victim holds just the job it runs, none waiting for its one slot.
            AUDIT_ACK_WINDOW: '0',
            FLEET_INSTANCE_ID: `victim-${i}`,
          }),
        ),
      );
    }
    await Promise.all(workers.map((w) => w.ready));
    const jobs = await Promise.all(Array.from({ length: VICTIMS }, enqueue));
    const holder = new Map<string, number>();
    await waitFor(
      async () => {
        for (const { jobId } of jobs) {
          const by = (await queue.getJob(jobId))?.processedBy;
          if (by?.startsWith('victim-')) holder.set(jobId, Number(by.slice('victim-'.length)));
        }
        return holder.size === VICTIMS || undefined;
      },
      { timeoutMs: 20_000, what: 'each victim to hold one job' },
    );
    // Running rows exist (the attempt outlived AUDIT_RUNNING_DELAY_MS).
    await waitFor(
      async () =>
        (await t.db.selectFrom('autonomous_tasks').select('id').where('status', '=', 'running').execute()).length ===
          VICTIMS || undefined,
      { what: 'running rows' },
    );

    // The survivor, and a job of its own that outlasts the lock twice over.
    const longMs = DEFAULT_WORKER_TIMING.lockDurationMs * 2;
    const survivor = spawnWorker(
      defaultTimingEnv({
        TEST_CONCURRENCY: '10',
        FIRST_ATTEMPT_SLEEP_MS: String(longMs),
        FLEET_INSTANCE_ID: 'survivor',
      }),
    );
    workers.push(survivor);
    await survivor.ready;
    const live = await enqueue();
    await waitFor(async () => (await queue.getJob(live.jobId))?.processedBy === 'survivor' || undefined, {
      what: 'the live long job to start on the survivor',
    });

    // Kill the victims a moment apart, so they die at different points of the stalled-check cycle.
    const killedAt = new Map<string, number>();
    for (const [jobId, victim] of holder) {
      workers[victim]!.child.kill('SIGKILL');
      await workers[victim]!.exited;
      killedAt.set(jobId, Date.now());
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }

    const recoveredMs = new Map<string, number>();
    await waitFor(
      async () => {
        const rows = await t.db
          .selectFrom('autonomous_tasks')
          .select(['job_id', 'attempt', 'status'])
          .where('job_id', 'in', [...killedAt.keys()])
          .execute();
        for (const jobId of killedAt.keys()) {
          if (recoveredMs.has(jobId)) continue;
          const lostClosed = rows.some((x) => x.job_id === jobId && x.attempt === 1 && x.status !== 'running');
          const retried = rows.some((x) => x.job_id === jobId && x.attempt === 2);
          if (lostClosed && retried) recoveredMs.set(jobId, Date.now() - killedAt.get(jobId)!);
        }
        return recoveredMs.size === VICTIMS || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'every killed job to be recovered' },
    );
    const times = [...recoveredMs.values()];
    console.log(
      `container-timing recovery after SIGKILL (lock ${DEFAULT_WORKER_TIMING.lockDurationMs} ms, stalled check ${DEFAULT_WORKER_TIMING.stalledIntervalMs} ms): ${JSON.stringify({ kills: VICTIMS, median_ms: median(times), max_ms: Math.max(...times), all_ms: times })}`,
    );
    expect(Math.max(...times)).toBeLessThan(30_000);

    // Every recovered job finishes on the survivor; the lost attempts are closed as lost.
    await waitFor(
      async () => {
        const states = await Promise.all([...killedAt.keys(), live.jobId].map((id) => queue.getJobState(id)));
        return states.every((s) => s === 'completed') || undefined;
      },
      { timeoutMs: 60_000, what: 'every job completed' },
    );
    const lost = await t.db
      .selectFrom('autonomous_tasks')
      .select(['status', 'error_message'])
      .where('job_id', 'in', [...killedAt.keys()])
      .where('attempt', '=', 1)
      .execute();
    for (const row of lost) {
      expect(row.status).toBe('failed');
      expect(row.error_message).toMatch(/^worker lost/);
    }
    // The live job kept its lock for twice its duration: one attempt, never stalled.
    expect((await queue.getJob(live.jobId))!.attemptsStarted).toBe(1);
    expect(stalled).not.toContain(live.jobId);
    expect(stalled.filter((id) => killedAt.has(id)).sort()).toEqual([...killedAt.keys()].sort());
  });
});
