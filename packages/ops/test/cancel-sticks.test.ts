/**
 * Cancels that stick: a cancel is honoured wherever the job is, including a job whose worker was
 * killed (SIGKILL) while running it, and the result says truthfully what happened.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cancelMarksKey } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask, enqueueJob, type OpsDeps, OpsError, openOps } from '../src/index.ts';

const WORKER = fileURLToPath(new URL('./fixtures/slow-worker.ts', import.meta.url));

let t: TestDatabase;
let r: TestRedis;
let deps: OpsDeps & { close(): Promise<void> };
let redis: Redis;
let workspaceId: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase('ops_cancel');
  r = createTestRedis('ops-cancel');
  deps = openOps({ databaseUrl: t.url, redis: r.url, prefix: r.prefix });
  redis = new Redis(r.url);
  workspaceId = await createWorkspace(t.db);
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

afterAll(async () => {
  redis?.disconnect();
  await deps?.close();
  await r.cleanup();
  await t.drop();
});

/** A worker process with quick stall detection (the timing is not what these tests are about). */
async function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: {
      ...process.env,
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      AUDIT_RUNNING_DELAY_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('"agent started"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started: ${out.slice(-2000)}`)));
  });
  return child;
}

const starts = async () => redis.lrange(`${r.prefix}:test:starts`, 0, -1);
const rowsOf = (jobId: string) =>
  t.db
    .selectFrom('autonomous_tasks')
    .select(['attempt', 'status', 'error_message'])
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute();

async function runningJob(): Promise<string> {
  const { jobId } = await enqueueJob(deps, {
    queue: 'maintenance_queue',
    job: 'system_health_check',
    payload: { workspace_id: workspaceId },
  });
  await waitFor(async () => (await starts()).includes(`${jobId}#1`), { what: `job ${jobId} to start` });
  return jobId;
}

describe('cancelTask', () => {
  it('cancels a running job through its worker and says "cancelled" once its row is', async () => {
    await startWorker();
    const jobId = await runningJob();
    const result = await cancelTask(deps, jobId, { reason: 'wrong workspace' });
    expect(result).toMatchObject({ outcome: 'cancelled', action: 'aborted', attempt: 1, receivers: 1 });
    expect(result.message).toMatch(/^cancelled: the worker running job/);
    expect(await rowsOf(jobId)).toEqual([
      { attempt: 1, status: 'cancelled', error_message: 'cancelled: wrong workspace' },
    ]);
    expect(await redis.hlen(cancelMarksKey(r.prefix))).toBe(0);
    const again = await cancelTask(deps, jobId).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(OpsError);
    expect((again as OpsError).message).toMatch(/already finished/);
  });

  it('sticks when the worker died: "will be cancelled when recovered", and the job never runs again', {
    timeout: 60_000,
  }, async () => {
    const doomed = await startWorker();
    const jobId = await runningJob();
    doomed.kill('SIGKILL');
    await new Promise((resolve) => doomed.once('exit', resolve));

    const result = await cancelTask(deps, jobId, { reason: 'not needed', confirmMs: 300 });
    expect(result).toMatchObject({ outcome: 'pending', action: 'marked', attempt: 1, receivers: 0 });
    expect(result.message).toMatch(/^will be cancelled when recovered: /);

    // A new worker: BullMQ hands the stalled job out again, and the runtime cancels it unrun.
    await startWorker();
    const rows = await waitFor(
      async () => {
        const found = await rowsOf(jobId);
        return found.some((x) => x.status === 'cancelled') ? found : undefined;
      },
      { timeoutMs: 30_000, what: 'the cancelled row' },
    );
    await waitFor(async () => (await deps.producer.queue('maintenance_queue').getJobState(jobId)) === 'failed', {
      what: 'the job to end',
    });
    expect(rows.at(-1)).toMatchObject({ status: 'cancelled', error_message: 'cancelled: not needed' });
    expect(rows.every((x) => x.status !== 'running')).toBe(true);
    expect(await starts()).toEqual(expect.not.arrayContaining([`${jobId}#2`]));
    expect((await starts()).filter((s) => s.startsWith(jobId))).toEqual([`${jobId}#1`]);
    expect(await redis.hlen(cancelMarksKey(r.prefix))).toBe(0);
  });
});
