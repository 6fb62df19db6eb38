/**
 * A worker killed with SIGKILL at each step a job goes through while this worker holds it:
 * (a) fetched, waiting for a handler slot; (b) its handler running; (c) its terminal row queued in
 * the audit writer, not committed; (d) its row committed, the job not yet acknowledged. The child
 * stops itself at the step (fixtures/worker-process.ts: CRASH_AT) and writes a marker; only then
 * is it killed. After a restart every job ends completed, with exactly one row per attempt.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from './fixtures/spawn-worker.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let workspaceId: string;
let markers: string;
const alive = new Set<WorkerProcess>();
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_crash_steps');
  workspaceId = await createWorkspace(t.db);
  markers = mkdtempSync(join(tmpdir(), 'crash-steps-'));
});

afterEach(async () => {
  for (const w of alive) w.child.kill('SIGKILL');
  alive.clear();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  rmSync(markers, { recursive: true, force: true });
  await t.drop();
});

interface Scenario {
  r: TestRedis;
  queue: Queue;
  producer: Producer;
  env: Record<string, string>;
}

function scenario(name: string, extra: Record<string, string>): Scenario {
  const r = createTestRedis(`crash-${name}`);
  const queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  const producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  cleanups.push(async () => {
    await producer.close();
    await queue.close();
    await r.cleanup();
  });
  // Quick lock expiry and stalled checks, so the restarted worker finds the dead one's jobs fast.
  const env = agentEnv(t.url, r.url, r.prefix, {
    LOCK_DURATION_MS: '1500',
    STALLED_INTERVAL_MS: '500',
    MAX_STALLED_COUNT: '3',
    RECONCILE_INTERVAL_MS: '500',
    ...extra,
  });
  return { r, queue, producer, env };
}

function spawn(env: Record<string, string>): WorkerProcess {
  const w = spawnWorker(env);
  alive.add(w);
  return w;
}

/** Starts a worker that stops at `step`, and resolves with the job it stopped on. */
async function crashingWorker(s: Scenario, step: string): Promise<{ worker: WorkerProcess; jobId: string }> {
  const marker = join(markers, `${step}.json`);
  const worker = spawn({ ...s.env, CRASH_AT: step, CRASH_MARKER: marker });
  await worker.ready;
  return {
    worker,
    jobId: await waitFor(
      () => existsSync(marker) && (JSON.parse(readFileSync(marker, 'utf8')) as { jobId: string }).jobId,
      {
        timeoutMs: 20_000,
        what: `the worker to reach ${step}`,
      },
    ),
  };
}

async function kill(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBe('SIGKILL');
  alive.delete(worker);
}

async function rowsOf(jobId: string) {
  return t.db
    .selectFrom('autonomous_tasks')
    .select(['attempt', 'status', 'error_message'])
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute();
}

/**
 * Restarts a worker (no crash point) and waits until every job completed and no row is open;
 * then checks each job's rows: one per attempt BullMQ started, with the statuses expected.
 */
async function expectRecovered(s: Scenario, expected: Record<string, string[]>): Promise<void> {
  const worker = spawn(s.env);
  await worker.ready;
  const ids = Object.keys(expected);
  await waitFor(
    async () => {
      for (const id of ids) if ((await s.queue.getJobState(id)) !== 'completed') return undefined;
      const rows = await t.db
        .selectFrom('autonomous_tasks')
        .select('status')
        .where('job_id', 'in', ids)
        .where('status', 'in', ['pending', 'running'])
        .execute();
      return rows.length === 0;
    },
    { timeoutMs: 30_000, what: 'every job completed and no row left open' },
  );
  for (const id of ids) {
    const job = (await s.queue.getJob(id))!;
    const rows = await rowsOf(id);
    expect(rows.map((row) => row.attempt)).toEqual(Array.from({ length: job.attemptsStarted }, (_, i) => i + 1));
    expect(rows.map((row) => row.status)).toEqual(expected[id]);
    for (const row of rows.filter((x) => x.status === 'failed')) expect(row.error_message).toMatch(/^worker lost/);
    expect(job.returnvalue).toMatchObject({ echo: { workspace_id: workspaceId } });
  }
}

const enqueue = (s: Scenario) =>
  s.producer
    .enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId }, { attempts: 3 })
    .then((x) => x.jobId);

describe('a worker killed with SIGKILL', () => {
  it('(a) while a job it fetched waits for a handler slot', { timeout: 60_000 }, async () => {
    // One slot: the first job's first attempt runs for a minute, the second waits behind it.
    const s = scenario('slot', { TEST_CONCURRENCY: '1', AUDIT_ACK_WINDOW: '4', FIRST_ATTEMPT_SLEEP_MS: '60000' });
    const marker = join(markers, 'waiting_for_slot.json');
    const worker = spawn({ ...s.env, CRASH_AT: 'waiting_for_slot', CRASH_MARKER: marker });
    await worker.ready;
    const running = await enqueue(s);
    const waiting = await enqueue(s);
    await waitFor(() => existsSync(marker), { timeoutMs: 20_000, what: 'a job waiting for a slot' });
    expect(JSON.parse(readFileSync(marker, 'utf8')).jobId).toBe(waiting);
    expect((await s.queue.getActive()).map((j) => j.id).sort()).toEqual([running, waiting].sort());
    await kill(worker);
    await expectRecovered(s, { [running]: ['failed', 'completed'], [waiting]: ['failed', 'completed'] });
  });

  it('(b) while its handler runs', { timeout: 60_000 }, async () => {
    const s = scenario('handler', { AUDIT_RUNNING_DELAY_MS: '0' });
    const jobId = await enqueue(s);
    const { worker, jobId: stopped } = await crashingWorker(s, 'handler');
    expect(stopped).toBe(jobId);
    // The running row is durable before the kill: the reconciler must close it.
    await waitFor(async () => (await rowsOf(jobId))[0]?.status === 'running', { what: 'the running row' });
    await kill(worker);
    await expectRecovered(s, { [jobId]: ['failed', 'completed'] });
  });

  it('(c) while its terminal row is queued in the audit writer, not committed', { timeout: 60_000 }, async () => {
    const s = scenario('queued', {});
    const jobId = await enqueue(s);
    // A transaction that holds every write to the table back (reads go on), so the terminal row
    // cannot commit; it ends, having written nothing, after the kill.
    await t.db.transaction().execute(async (trx) => {
      await sql`LOCK TABLE autonomous_tasks IN EXCLUSIVE MODE`.execute(trx);
      const { worker, jobId: stopped } = await crashingWorker(s, 'awaiting_commit');
      expect(stopped).toBe(jobId);
      const blocked = await waitFor(
        async () => {
          // Read from another connection: inside a transaction, pg_stat_activity is a snapshot
          // taken at its first read, which would never show a statement that came later.
          const { rows } = await sql<{ pid: number }>`
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'fleet-test-agent-audit'
              AND wait_event_type = 'Lock'`.execute(t.db);
          return rows.length > 0 && rows.map((row) => row.pid);
        },
        { what: "the writer's statement waiting on the lock" },
      );
      // The worker runs on, yet has not acknowledged the job whose row is not durable.
      expect(await s.queue.getJobState(jobId)).toBe('active');
      await kill(worker);
      // Postgres ends the dead client's statement (it would notice the closed socket), uncommitted.
      for (const pid of blocked) await sql`SELECT pg_terminate_backend(${pid})`.execute(trx);
    });
    expect((await rowsOf(jobId)).map((row) => row.status)).toEqual(['pending']);
    await expectRecovered(s, { [jobId]: ['failed', 'completed'] });
  });

  it('(d) after its row committed, before the job was acknowledged', { timeout: 60_000 }, async () => {
    const s = scenario('committed', {});
    const jobId = await enqueue(s);
    const { worker, jobId: stopped } = await crashingWorker(s, 'committed');
    expect(stopped).toBe(jobId);
    expect((await rowsOf(jobId)).map((row) => row.status)).toEqual(['completed']);
    expect(await s.queue.getJobState(jobId)).toBe('active');
    await kill(worker);
    // At least once: the unacknowledged job runs again, as a second attempt with its own row.
    await expectRecovered(s, { [jobId]: ['completed', 'completed'] });
  });
});
