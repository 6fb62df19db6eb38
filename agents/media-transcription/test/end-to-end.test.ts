import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditJobId } from '@fleet/catalog';
import { createProducer, createRedis, type Producer } from '@fleet/queues';
import { publishCancel, type RunningAgent, startAgent } from '@fleet/runtime';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import agentDefinition from '../src/index.ts';
import { makeWav, startTranscriptionStub } from './fixtures.ts';

let t: TestDatabase;
let r: TestRedis;
let root: string;
let stub: Awaited<ReturnType<typeof startTranscriptionStub>>;
let producer: Producer;
let agent: RunningAgent;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('media_e2e');
  r = createTestRedis('media-e2e');
  root = await mkdtemp(join(tmpdir(), 'mt-e2e-'));
  stub = await startTranscriptionStub();
  const org = await t.db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  ({ id: workspaceId } = await t.db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'WS' })
    .returning('id')
    .executeTakeFirstOrThrow());
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  agent = await startAgent(agentDefinition, {
    env: {
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'fatal',
      LOG_PRETTY: 'false',
      METRICS_PROCESS: 'false',
      TRANSCRIPTION_BASE_URL: stub.baseUrl,
      TRANSCRIPTION_API_KEY: 'sk-e2e-secret',
      TRANSCRIPTION_MODEL: 'whisper-large-v3-turbo',
      TRANSCRIPTION_PRICE_PER_MINUTE_USD: '0.01',
      TRANSCRIPTION_MAX_UPLOAD_BYTES: '1000000',
      MEDIA_ROOT: root,
    },
  });
});

afterAll(async () => {
  await agent?.close(5_000);
  await producer?.close();
  await stub?.close();
  await r.cleanup();
  await t.drop();
  await rm(root, { recursive: true, force: true });
});

async function mediaFile(name: string, bytes: Buffer): Promise<string> {
  await writeFile(join(root, name), bytes);
  const row = await t.db
    .insertInto('media_files')
    .values({ workspace_id: workspaceId, source: name, file_name: name })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

const rowsOf = (jobId: string) =>
  t.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();

async function terminalRows(jobId: string, status: string) {
  return waitFor(
    async () => {
      const rows = await rowsOf(jobId);
      return rows.some((row) => row.status === status) ? rows : undefined;
    },
    { timeoutMs: 15_000, what: `a ${status} audit row for job ${jobId}` },
  );
}

const fileRow = (id: string) =>
  t.db.selectFrom('media_files').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('media-transcription agent end to end', () => {
  it('transcribes a queued file (split in parts) and records a completed audit row with its cost', async () => {
    const id = await mediaFile('meeting.wav', makeWav({ seconds: 150 })); // 2.4 MB > 1 MB upload limit
    const { jobId } = await producer.enqueue('media_transcription_queue', 'media_transcription', {
      workspace_id: workspaceId,
      media_file_id: id,
      language: 'en',
    });
    const rows = await terminalRows(jobId, 'completed');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'completed',
      attempt: 1,
      task_type: 'media_transcription',
      queue_name: 'media_transcription_queue',
      agent_name: 'media-transcription',
      workspace_id: workspaceId,
      cost_estimate_usd: '0.025000', // 2.5 min × $0.01
      error_message: null,
      input_data: { workspace_id: workspaceId, media_file_id: id, language: 'en', triggered_by: 'api' },
      output_data: {
        media_file_id: id,
        format: 'wav',
        duration_seconds: 150,
        chunks: 3,
        segments: 75,
        language: 'english',
        model: 'whisper-large-v3-turbo',
      },
    });
    const uploads = stub.requests.filter((q) => q.fields.some(([k, v]) => k === 'language' && v === 'en'));
    expect(uploads).toHaveLength(3);
    expect(uploads.every((q) => q.headers.authorization === 'Bearer sk-e2e-secret')).toBe(true);
    expect(await fileRow(id)).toMatchObject({ status: 'transcribed', duration_seconds: '150.000' });
    const transcript = await t.db
      .selectFrom('media_transcripts')
      .selectAll()
      .where('media_file_id', '=', id)
      .executeTakeFirstOrThrow();
    const segments = transcript.segments as { start: number; end: number }[];
    expect(segments.map((s) => s.start).slice(24, 27)).toEqual([48, 50, 52]); // across the 50 s cut
    expect(segments.at(-1)).toMatchObject({ start: 148, end: 150 });
  });

  it('fails a corrupt file once: one failed row, no retry', async () => {
    const id = await mediaFile('corrupt.wav', Buffer.from('not audio at all '.repeat(100)));
    const before = stub.requests.length;
    const { jobId } = await producer.enqueue('media_transcription_queue', 'media_transcription', {
      workspace_id: workspaceId,
      media_file_id: id,
    });
    const rows = await terminalRows(jobId, 'failed');
    await waitFor(async () => ((await agent.queue.getJob(jobId))?.finishedOn ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the job to be finished in BullMQ',
    });
    expect(await agent.queue.getJobState(jobId)).toBe('failed');
    expect(await rowsOf(jobId)).toHaveLength(1);
    expect(rows[0]!.error_message).toMatch(/^media file is corrupt or not a recognised audio\/video format/);
    expect(stub.requests.length).toBe(before);
    expect(await fileRow(id)).toMatchObject({ status: 'failed', error_message: rows[0]!.error_message });
  });

  it('fails a job whose payload has a bad media_file_id, naming the field, without running it', async () => {
    // Added with BullMQ directly, as a non-TypeScript producer would: the client would refuse it.
    const job = await agent.queue.add('media_transcription', { workspace_id: workspaceId, media_file_id: '42' });
    // Auto-numbered ids are recorded with the job's creation time (see auditJobId).
    const rows = await terminalRows(auditJobId(job.id!, job.timestamp), 'failed');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.error_message).toMatch(/media_file_id/);
    expect(rows[0]!.error_message).toMatch(/must be a UUID/);
  });

  it('records cancelled when an operator cancels the job mid-upload', async () => {
    let uploading = 0;
    stub.holdRequests((req) => {
      uploading++;
      req.resume(); // take the bytes, never answer
    });
    try {
      const id = await mediaFile('cancel-me.wav', makeWav({ seconds: 60 }));
      const { jobId } = await producer.enqueue('media_transcription_queue', 'media_transcription', {
        workspace_id: workspaceId,
        media_file_id: id,
      });
      await waitFor(() => uploading > 0 || undefined, { timeoutMs: 10_000, what: 'the upload to start' });
      const publisher = createRedis(r.url, 'producer');
      try {
        await publishCancel(publisher, r.prefix, {
          queue: 'media_transcription_queue',
          jobId,
          reason: 'cancelled by e2e test',
        });
      } finally {
        publisher.disconnect();
      }
      const rows = await terminalRows(jobId, 'cancelled');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'cancelled', error_message: 'cancelled: cancelled by e2e test' });
      expect(await fileRow(id)).toMatchObject({
        status: 'uploaded',
        error_message: 'transcription interrupted: cancelled by e2e test',
      });
      expect(await agent.queue.getJobState(jobId)).toBe('failed');
    } finally {
      stub.holdRequests(undefined);
    }
  });
});
