/**
 * Media is never uploaded to a public API without that API's key: without one the agent starts,
 * says "provider not configured" in its log, and fails its jobs permanently with that message.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createProducer, type Producer } from '@fleet/queues';
import { type RunningAgent, startAgent } from '@fleet/runtime';
import { isPrivateNetworkHost } from '@fleet/safe-fetch';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MediaTranscriptionEnv, transcriptionProviderProblem } from '../src/env.ts';
import agentDefinition from '../src/index.ts';

const env = (over: Partial<MediaTranscriptionEnv>) =>
  ({ TRANSCRIPTION_BASE_URL: 'https://api.openai.com/v1', ...over }) as MediaTranscriptionEnv;

describe('which transcription providers may be used', () => {
  it('needs a key for a public API, not for a self-hosted server', () => {
    expect(transcriptionProviderProblem(env({}))).toMatch(
      /^transcription provider not configured: TRANSCRIPTION_BASE_URL https:\/\/api\.openai\.com\/v1 is a public API and TRANSCRIPTION_API_KEY is not set/,
    );
    expect(transcriptionProviderProblem(env({ TRANSCRIPTION_BASE_URL: 'https://api.groq.com/openai/v1' }))).toMatch(
      /not configured/,
    );
    expect(transcriptionProviderProblem(env({ TRANSCRIPTION_API_KEY: 'sk-x' }))).toBeNull();
    expect(transcriptionProviderProblem(env({ TRANSCRIPTION_BASE_URL: 'http://whisper:8000/v1' }))).toBeNull();
  });

  it('counts private addresses and local names as self-hosted', () => {
    for (const host of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.5',
      '192.168.1.9',
      '[::1]',
      'fd00::1',
      'whisper',
      'asr.internal',
      'gpu.local',
    ]) {
      expect(isPrivateNetworkHost(host), host).toBe(true);
    }
    for (const host of ['api.openai.com', '8.8.8.8', '172.32.0.1', '[2001:db8::1]', 'whisper.example.com']) {
      expect(isPrivateNetworkHost(host), host).toBe(false);
    }
  });
});

describe('an agent without a usable provider', () => {
  let t: TestDatabase;
  let r: TestRedis;
  let producer: Producer;
  let agent: RunningAgent;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    t = await createTestDatabase('media_noprov');
    r = createTestRedis('media-noprov');
    producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    agent = await startAgent(agentDefinition, {
      env: {
        DATABASE_URL: t.url,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
        METRICS_PROCESS: 'false',
      },
      logDestination: destination,
    });
  });

  afterAll(async () => {
    await agent?.close(5_000);
    await producer?.close();
    await r.cleanup();
    await t.drop();
  });

  it('starts, logs that the provider is not configured, and fails jobs once with that message', async () => {
    const warning = lines.find((l) => String(l.msg).startsWith('transcription provider not configured'));
    expect(warning?.level).toBe(40);
    const { jobId } = await producer.enqueue('media_transcription_queue', 'media_transcription', {
      workspace_id: await createWorkspace(t.db),
      media_file_id: randomUUID(),
    });
    const row = await waitFor(
      async () => {
        const found = await t.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).execute();
        return found.find((x) => x.status === 'failed');
      },
      { timeoutMs: 15_000, what: 'the failed row' },
    );
    expect(row.error_message).toMatch(/^transcription provider not configured/);
    const job = await producer.queue('media_transcription_queue').getJob(jobId);
    expect(await job!.getState()).toBe('failed');
    expect(job!.attemptsStarted).toBe(1);
  });
});
