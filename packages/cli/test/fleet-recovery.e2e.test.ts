/**
 * Crash recovery in process mode, measured: an agent process running a job is killed with
 * SIGKILL five times. The supervisor sees it die, closes the attempt's row at once and hands the
 * job back; the other replica runs the retry (after the job's own backoff, 1 s here). Prints the
 * median and maximum of both times; each must stay under 30 s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer, type Producer } from '@fleet/queues';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/fleet/ports.ts';
import { type FleetProcess, startFleet } from './support/fleet-process.ts';
import { createMediaFile, startHeldTranscriptionServer } from './support/media-stub.ts';
import { agentPid } from './support/processes.ts';

const KILLS = 5;

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let stub: Awaited<ReturnType<typeof startHeldTranscriptionServer>>;
let mediaRoot: string;
let workspaceId: string;
let fleet: FleetProcess;

beforeAll(async () => {
  t = await createTestDatabase('fleet_recovery');
  r = createTestRedis('fleet-recovery');
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  stub = await startHeldTranscriptionServer();
  mediaRoot = await mkdtemp(join(tmpdir(), 'fleet-recovery-media-'));
  workspaceId = await createWorkspace(t.db);
  fleet = startFleet(
    ['media-transcription=2', '--no-migrate', '--base-port', String((await freePort()) - 4), '--stop-grace', '20000'],
    {
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      TRANSCRIPTION_BASE_URL: stub.baseUrl,
      MEDIA_ROOT: mediaRoot,
      LOG_LEVEL: 'warn',
    },
  );
}, 60_000);

afterAll(async () => {
  stub?.answerAll();
  await fleet?.stop();
  await producer?.close();
  await stub?.close();
  await r.cleanup();
  await t.drop();
  await rm(mediaRoot, { recursive: true, force: true });
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describe('process mode, a worker killed with SIGKILL mid-job', () => {
  it(`closes the row and retries the job within 30 s (${KILLS} kills)`, { timeout: 240_000 }, async () => {
    // The second replica may still be starting: wait for both before the first kill.
    await fleet.waitForOutput(/fleet ready: 2 of 2 processes healthy/, 90_000);
    const closedMs: number[] = [];
    const retriedMs: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const before = stub.uploads.length;
      const mediaFileId = await createMediaFile(t.db, workspaceId, mediaRoot);
      const { jobId } = await producer.enqueue(
        'media_transcription_queue',
        'media_transcription',
        { workspace_id: workspaceId, media_file_id: mediaFileId },
        { attempts: 2, backoff: { type: 'fixed', delay: 1_000 } },
      );
      await waitFor(() => stub.uploads.length > before, { timeoutMs: 30_000, what: 'the upload of attempt 1' });
      const job = (await producer.queue('media_transcription_queue').getJob(jobId))!;
      // processedBy is the instance id, `<label>-<hex>`: the process to kill.
      const label = job.processedBy!.replace(/-[0-9a-f]{8}$/, '');
      const pid = agentPid(fleet.child.pid!, label);
      expect(pid, `no process for ${label}`).toBeDefined();

      const killedAt = Date.now();
      process.kill(pid!, 'SIGKILL');
      const lost = await waitFor(
        async () =>
          (
            await t.db
              .selectFrom('autonomous_tasks')
              .select(['status', 'error_message'])
              .where('job_id', '=', jobId)
              .where('attempt', '=', 1)
              .executeTakeFirst()
          )?.status === 'failed'
            ? Date.now()
            : undefined,
        { timeoutMs: 30_000, intervalMs: 20, what: `attempt 1 of job ${jobId} closed` },
      );
      closedMs.push(lost - killedAt);
      const retried = await waitFor(() => (stub.uploads.length > before + 1 ? Date.now() : undefined), {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: `attempt 2 of job ${jobId} uploading`,
      });
      retriedMs.push(retried - killedAt);
      const row = await t.db
        .selectFrom('autonomous_tasks')
        .select('error_message')
        .where('job_id', '=', jobId)
        .where('attempt', '=', 1)
        .executeTakeFirstOrThrow();
      expect(row.error_message).toMatch(
        new RegExp(`^worker lost: ${label.replace('#', '\\#')}-[0-9a-f]{8} exited with signal SIGKILL.*will retry`),
      );
      stub.answerAll();
      await waitFor(
        async () =>
          (
            await t.db
              .selectFrom('autonomous_tasks')
              .select('status')
              .where('job_id', '=', jobId)
              .where('attempt', '=', 2)
              .executeTakeFirst()
          )?.status === 'completed' || undefined,
        { timeoutMs: 30_000, what: `attempt 2 of job ${jobId} completed` },
      );
    }
    const report = {
      kills: KILLS,
      row_closed_ms: { median: median(closedMs), max: Math.max(...closedMs), all: closedMs },
      retry_started_ms: { median: median(retriedMs), max: Math.max(...retriedMs), all: retriedMs },
    };
    console.log(`process-mode recovery after SIGKILL: ${JSON.stringify(report)}`);
    expect(Math.max(...closedMs)).toBeLessThan(30_000);
    expect(Math.max(...retriedMs)).toBeLessThan(30_000);
    // Nothing left open; every killed process was restarted.
    const open = await t.db
      .selectFrom('autonomous_tasks')
      .select('id')
      .where('status', 'in', ['pending', 'running'])
      .execute();
    expect(open).toEqual([]);
    expect(fleet.output().match(/recovered 1 job\(s\) it was running/g)).toHaveLength(KILLS);
  });
});
