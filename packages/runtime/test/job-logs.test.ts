/**
 * What a job writes to the log: every line carries the id of the attempt's audit row, expected
 * failures are warnings without a stack trace, and an error's cause (ECONNREFUSED…) is kept.
 */
import { Writable } from 'node:stream';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError, PermanentError, type RunningAgent, startAgent } from '../src/index.ts';
import { testAgent } from './fixtures/test-agent.ts';
import { agentEnv, createWorkspace } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let agent: RunningAgent;
let workspaceId: string;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  t = await createTestDatabase('rt_logs');
  r = createTestRedis('rt-logs');
  workspaceId = await createWorkspace(t.db);
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  agent = await startAgent(
    testAgent(async (payload, ctx) => {
      ctx.log.info('handler says hello');
      const mode = (payload as { retention_days?: number }).retention_days;
      if (mode === 1) throw new PermanentError('no such record');
      if (mode === 2) {
        // What Node's fetch throws for a closed port.
        const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
        throw new TypeError('fetch failed', { cause });
      }
      return { output: {} };
    }),
    { env: agentEnv(t.url, r.url, r.prefix, { LOG_LEVEL: 'debug' }), logDestination: destination },
  );
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

async function rowOf(jobId: string, status: string) {
  return waitFor(
    async () =>
      (await t.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).execute()).find(
        (row) => row.status === status,
      ),
    { what: `a ${status} row of ${jobId}` },
  );
}

describe('job log lines', () => {
  it('carry the audit row id, the same id the row has in the table', async () => {
    const { jobId } = await producer.enqueue('maintenance_queue', 'system_health_check', { workspace_id: workspaceId });
    const row = await rowOf(jobId, 'completed');
    const own = lines.filter((l) => l.jobId === jobId);
    expect(own.map((l) => l.msg)).toEqual(expect.arrayContaining(['handler says hello', 'job finished']));
    for (const line of own) expect(line.taskId).toBe(row.id);
  });

  it('log an expected failure as a warning without a stack trace', async () => {
    const { jobId } = await producer.enqueue('maintenance_queue', 'data_cleanup', { retention_days: 1 });
    const row = await rowOf(jobId, 'failed');
    expect(row.error_message).toBe('no such record');
    const failed = await waitFor(() => lines.find((l) => l.jobId === jobId && l.msg === 'job failed permanently'));
    expect(failed.level).toBe(40);
    expect(failed.taskId).toBe(row.id);
    expect(JSON.stringify(failed)).not.toContain('    at ');
  });

  it('keep the cause of "fetch failed" in the row and the log', async () => {
    const { jobId } = await producer.enqueue(
      'maintenance_queue',
      'data_cleanup',
      { retention_days: 2 },
      { attempts: 1 },
    );
    const row = await rowOf(jobId, 'failed');
    expect(row.error_message).toBe('fetch failed (connect ECONNREFUSED 127.0.0.1:9)');
    expect(describeError(new Error('lookup failed', { cause: { code: 'ENOTFOUND' } }))).toBe(
      'lookup failed (ENOTFOUND)',
    );
  });
});
