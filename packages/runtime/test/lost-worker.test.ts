/**
 * What a supervisor does when it sees its worker process die (process mode): the jobs the dead
 * instance held are recovered at once — rows closed, jobs retried with their backoff, or ended
 * cancelled when a cancel was recorded — without waiting for their locks to expire.
 */

import { createAuditWriter } from '@fleet/audit-writer';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelMarksKey, createScrubber, markCancelled, recoverLostWorkerJobs } from '../src/index.ts';
import { spawnWorker } from './fixtures/spawn-worker.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let queue: Queue;
let redis: Redis;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('rt_lost');
  r = createTestRedis('rt-lost');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  queue = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  redis = new Redis(r.url);
});

afterAll(async () => {
  redis?.disconnect();
  await queue?.close();
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

describe('recoverLostWorkerJobs', () => {
  it('closes the rows of a killed instance at once, retries its jobs, and cancels the marked one', async () => {
    const worker = spawnWorker(
      agentEnv(t.url, r.url, r.prefix, {
        TEST_CONCURRENCY: '2',
        FIRST_ATTEMPT_SLEEP_MS: '60000',
        FLEET_INSTANCE_ID: 'doomed-1',
        AUDIT_RUNNING_DELAY_MS: '0',
      }),
    );
    await worker.ready;
    const [keep, drop] = await Promise.all(
      [1, 2].map(() => producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId })),
    );
    await waitFor(async () => (await queue.getActiveCount()) === 2 || undefined, { what: 'two active jobs' });
    worker.child.kill('SIGKILL');
    await worker.exited;
    await markCancelled(redis, r.prefix, { queue: 'maintenance_queue', jobId: drop!.jobId, reason: 'not wanted' });

    const auditWriter = createAuditWriter({ db: t.db });
    const recovered = await recoverLostWorkerJobs({
      queues: [queue],
      redis,
      prefix: r.prefix,
      instanceId: 'doomed-1',
      agentName: 'test-agent',
      auditWriter,
      scrub: createScrubber(),
      how: 'doomed-1 exited with signal SIGKILL',
    });
    // Another instance's id recovers nothing.
    const none = await recoverLostWorkerJobs({
      queues: [queue],
      redis,
      prefix: r.prefix,
      instanceId: 'someone-else',
      agentName: 'test-agent',
      auditWriter,
      scrub: createScrubber(),
      how: 'x',
    });
    await auditWriter.close();
    expect(none).toEqual([]);
    expect(recovered.map((x) => [x.jobId, x.attempt, x.outcome]).sort()).toEqual(
      [
        [keep!.jobId, 1, 'retry'],
        [drop!.jobId, 1, 'cancelled'],
      ].sort(),
    );
    const rows = await t.db.selectFrom('autonomous_tasks').select(['job_id', 'status', 'error_message']).execute();
    const byJob = Object.fromEntries(rows.map((x) => [x.job_id, x]));
    expect(byJob[keep!.jobId]).toMatchObject({ status: 'failed' });
    expect(byJob[keep!.jobId]!.error_message).toBe(
      'worker lost: doomed-1 exited with signal SIGKILL while running this attempt (failure 1 of 2 allowed; will retry)',
    );
    expect(byJob[drop!.jobId]).toMatchObject({ status: 'cancelled' });
    expect(byJob[drop!.jobId]!.error_message).toMatch(/^cancelled: not wanted \(its worker was lost/);
    expect(['delayed', 'waiting']).toContain(await queue.getJobState(keep!.jobId));
    expect(await queue.getJobState(drop!.jobId)).toBe('failed');
    expect(await redis.hlen(cancelMarksKey(r.prefix))).toBe(0);
  });
});
