import { auditJobId, PayloadValidationError } from '@fleet/catalog';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let raw: Queue;
let agent: RunningAgent;
let workspaceId: string;
let handled = 0;

beforeAll(async () => {
  t = await createTestDatabase('rt_hostile');
  r = createTestRedis('rt-hostile');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  raw = new Queue('maintenance_queue', { connection: { url: r.url }, prefix: r.prefix });
  agent = await startAgent(
    testAgent(async () => {
      handled++;
      return { output: { ok: true } };
    }),
    { env: agentEnv(t.url, r.url, r.prefix) },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await raw?.close();
  await r.cleanup();
  await t.drop();
});

const hostile: Array<[string, unknown, RegExp]> = [
  [
    'an extra field',
    { workspace_id: undefined, retention_days: 5, drop_table: true },
    /drop_table is not a known field/,
  ],
  ['a wrong type', { retention_days: 'ninety' }, /retention_days Invalid input: expected number, received string/],
  ['a __proto__ key', JSON.parse('{"__proto__": {"isAdmin": true}}'), /__proto__ is not a known field/],
  ['a constructor key', JSON.parse('{"constructor": {"prototype": {}}}'), /constructor is not a known field/],
  ['a 2 MB blob', { blob: 'x'.repeat(2 * 1024 * 1024) }, /bytes; the limit for maintenance_queue is 16384 bytes/],
  [
    'a non-UUID workspace id',
    { workspace_id: 'kh72b1cng9h88691sx4x7krt2h7v7deh' },
    /workspace_id must be a workspace UUID/,
  ],
  ['an array', [1, 2, 3], /must be a JSON object/],
];

describe('hostile payloads', () => {
  it.each(hostile)('the producer rejects %s before it reaches Redis', async (_label, payload, message) => {
    const before = await raw.count();
    const error = await producer.enqueueRaw('maintenance_queue', 'data_cleanup', payload).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect((error as Error).message).toMatch(message);
    expect(await raw.count()).toBe(before);
  });

  it('rejects unknown queues and jobs with the known names', async () => {
    await expect(producer.enqueueRaw('nope_queue', 'x', {})).rejects.toThrow(
      /Unknown queue "nope_queue"; known queues: /,
    );
    await expect(producer.enqueueRaw('maintenance_queue', 'format_disk', {})).rejects.toThrow(
      /Unknown job "format_disk" on queue maintenance_queue; known jobs of maintenance_queue: system_health_check, data_cleanup/,
    );
  });

  it('fails payloads injected straight into Redis once, with a validation message and no retry, and keeps serving', async () => {
    const injected = await Promise.all(
      hostile.map(([label, payload]) =>
        raw.add('data_cleanup', payload, {
          attempts: 3,
          backoff: { type: 'fixed', delay: 10 },
          jobId: `bad-${label.replaceAll(' ', '-')}`,
        }),
      ),
    );
    const unknown = await raw.add('format_disk', { workspace_id: workspaceId }, { attempts: 3 });
    const all = [...injected, unknown];
    await waitFor(
      async () => {
        const states = await Promise.all(all.map((j) => raw.getJobState(j.id!)));
        return states.every((s) => s === 'failed') || undefined;
      },
      { timeoutMs: 15_000, what: 'every injected job to fail' },
    );
    for (const job of all) {
      const fresh = (await raw.getJob(job.id!))!;
      expect(fresh.attemptsMade).toBe(1);
      expect(fresh.attemptsStarted).toBe(1);
    }
    const rows = await t.db
      .selectFrom('autonomous_tasks')
      .select(['job_id', 'attempt', 'status', 'error_message', 'input_data', 'workspace_id', 'task_type'])
      .where(
        'job_id',
        'in',
        all.map((j) => auditJobId(j.id!, j.timestamp)),
      )
      .execute();
    expect(rows).toHaveLength(all.length);
    for (const row of rows) {
      expect(row.status).toBe('failed');
      expect(row.attempt).toBe(1);
      expect(row.error_message).toMatch(
        /^(Invalid payload for maintenance_queue\/data_cleanup: |Unknown job "format_disk")/,
      );
    }
    // A job name the queue does not know is not counted as one of its task types.
    expect(rows.find((x) => x.job_id === auditJobId(unknown.id!, unknown.timestamp))!.task_type).toBe('unknown_job');
    expect(rows.filter((x) => x.task_type === 'unknown_job')).toHaveLength(1);
    const blob = rows.find((x) => x.job_id!.startsWith('bad-a-2-MB-blob@'))!;
    expect(blob.input_data).toMatchObject({ truncated: true, keys: ['blob'] });
    expect(rows.find((x) => x.job_id!.startsWith('bad-a-non-UUID-workspace-id@'))!.workspace_id).toBeNull();
    expect(handled).toBe(0);

    // The worker is still up and serving.
    const ok = await producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId });
    await waitFor(async () => (await raw.getJobState(ok.jobId)) === 'completed' || undefined, { what: 'a good job' });
    expect(handled).toBe(1);
  });
});
