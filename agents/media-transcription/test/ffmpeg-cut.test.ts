/**
 * Media over the upload limit, cut with ffmpeg: real recordings (espeak-ng speech, encoded by
 * ffmpeg) in every format phones and browsers produce, transcribed through the stub provider.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError } from '@fleet/runtime';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TranscribeSettings, transcribeMedia, transcriptionCostUsd } from '../src/transcribe-media.ts';
import { createOpenAiTranscriber } from '../src/transcription-provider.ts';
import { makeWav, startTranscriptionStub } from './fixtures.ts';
import { makeSpeechMedia, type TestFormat } from './media-files.ts';

let t: TestDatabase;
let workspaceId: string;
let base: string;
let root: string;
let scratch: string;
const log = pino({ level: 'silent' });
const SECONDS = 60;

beforeAll(async () => {
  t = await createTestDatabase('media_cut');
  const org = await t.db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  ({ id: workspaceId } = await t.db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'WS' })
    .returning('id')
    .executeTakeFirstOrThrow());
  base = await mkdtemp(join(tmpdir(), 'mt-cut-'));
  root = join(base, 'media');
  scratch = join(base, 'scratch');
  await mkdir(root);
  await mkdir(scratch);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
  await t.drop();
});

async function transcribe(name: string, bytes: Buffer, over: Partial<TranscribeSettings>) {
  await writeFile(join(root, name), bytes);
  const { id } = await t.db
    .insertInto('media_files')
    .values({ workspace_id: workspaceId, source: name })
    .returning('id')
    .executeTakeFirstOrThrow();
  const stub = await startTranscriptionStub();
  try {
    const provider = createOpenAiTranscriber({ baseUrl: stub.baseUrl, model: 'whisper-1', timeoutMs: 30_000 });
    const settings: TranscribeSettings = {
      mediaRoot: root,
      maxBytes: 100 * 1024 * 1024,
      downloadTimeoutMs: 10_000,
      tmpDir: scratch,
      maxDurationSeconds: 3600,
      maxUploadBytes: 25_000_000,
      pricePerMinuteUsd: 0.006,
      ffmpeg: { path: 'ffmpeg', timeoutMs: 60_000 },
      ...over,
    };
    let result: Awaited<ReturnType<typeof transcribeMedia>> | undefined;
    let error: Error | undefined;
    try {
      result = await transcribeMedia(
        { db: t.db, log, provider, settings },
        {
          workspaceId,
          mediaFileId: id,
          signal: new AbortController().signal,
          progress: async () => {},
          finalAttempt: true,
        },
      );
    } catch (err) {
      error = err as Error;
    }
    const transcript = await t.db
      .selectFrom('media_transcripts')
      .selectAll()
      .where('media_file_id', '=', id)
      .executeTakeFirst();
    return { result, error, requests: [...stub.requests], transcript };
  } finally {
    await stub.close();
  }
}

const FORMATS: Array<{ format: TestFormat; type: string; method: string }> = [
  { format: 'mp3', type: 'audio/mpeg', method: 'stream-copy' },
  { format: 'm4a', type: 'audio/mp4', method: 'stream-copy' },
  { format: 'ogg', type: 'audio/ogg', method: 'stream-copy' },
  { format: 'webm', type: 'audio/webm', method: 'stream-copy' },
  { format: 'wav', type: 'audio/wav', method: 'wav-frames' },
];

describe('media over the upload limit', () => {
  it.each(FORMATS)(
    'cuts $format into parts under the limit, stitched at their offsets',
    async ({ format, type, method }) => {
      const media = await makeSpeechMedia(format, SECONDS);
      // About a third of the file per upload: four parts.
      const limit = Math.floor(media.length / 3.2);
      const { result, error, requests, transcript } = await transcribe(`talk.${format}`, media, {
        maxUploadBytes: limit,
      });
      expect(error).toBeUndefined();
      expect(result!.output).toMatchObject({ format, chunks: 4, cut: method });
      // Encoders add a few ms of padding.
      expect(Math.abs(Number(result!.output.duration_seconds) - SECONDS)).toBeLessThan(0.1);
      expect(result!.costUsd).toBe(transcriptionCostUsd(Number(result!.output.duration_seconds), 0.006));

      expect(requests).toHaveLength(4);
      const ext = format;
      expect(requests.map((r) => r.file!.name)).toEqual([1, 2, 3, 4].map((n) => `audio-part${n}.${ext}`));
      for (const r of requests) {
        expect(r.file!.type).toBe(type);
        expect(r.file!.bytes.length).toBeLessThanOrEqual(limit);
      }
      // Near-equal parts (no tiny tail) that together cover the recording.
      const seconds = requests.map((r) => r.audioSeconds!);
      for (const s of seconds) expect(s).toBeGreaterThan(SECONDS / 4 - 1.5);
      expect(seconds.reduce((a, b) => a + b, 0)).toBeCloseTo(SECONDS, 0);

      // The stub numbers each part's segments from "seg 0": those mark where each part starts in
      // the stitched transcript, which must be where the previous part ended.
      const segments = transcript!.segments as Array<{ start: number; end: number; text: string }>;
      const starts = segments.filter((s) => s.text === 'seg 0').map((s) => s.start);
      expect(starts).toHaveLength(4);
      expect(starts[0]).toBe(0);
      for (let i = 1; i < 4; i++) {
        expect(starts[i]).toBeCloseTo((i * SECONDS) / 4, 0);
        expect(starts[i]! - starts[i - 1]!).toBeCloseTo(seconds[i - 1]!, 1);
      }
      expect(segments.map((s) => s.start)).toEqual([...segments.map((s) => s.start)].sort((a, b) => a - b));
      expect(transcript!.chunk_count).toBe(4);
      // Cut pieces go with the job.
      expect(await readdir(scratch)).toEqual([]);
    },
    60_000,
  );

  it('sends a video over the limit as its audio alone when that fits', async () => {
    const video = await makeSpeechMedia('m4a', 20, { video: true });
    const { result, requests } = await transcribe('meeting.mp4', video, {
      maxUploadBytes: Math.floor(video.length / 2),
    });
    expect(result!.output).toMatchObject({ chunks: 1, cut: 'stream-copy' });
    expect(requests[0]!.file!.name).toBe('audio.m4a');
    expect(requests[0]!.file!.bytes.length).toBeLessThan(video.length / 3);
    expect(requests[0]!.audioSeconds).toBeCloseTo(20, 0);
  }, 60_000);

  it('re-encodes audio that cannot be copied into parts (IMA ADPCM WAV)', async () => {
    const pcm = await makeSpeechMedia('wav', 30);
    const dir = await mkdtemp(join(tmpdir(), 'mt-adpcm-'));
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { readFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'in.wav'), pcm);
    await promisify(execFile)('ffmpeg', [
      '-loglevel',
      'error',
      '-i',
      join(dir, 'in.wav'),
      '-c:a',
      'adpcm_ima_wav',
      join(dir, 'out.wav'),
    ]);
    const adpcm = await readFile(join(dir, 'out.wav'));
    await rm(dir, { recursive: true, force: true });
    // 48 kbps mono MP3 is 6 kB/s: 100 kB holds 15 s with headroom, so three parts.
    const { result, requests } = await transcribe('adpcm.wav', adpcm, { maxUploadBytes: 100_000 });
    expect(result!.output).toMatchObject({ chunks: 3, cut: 're-encode' });
    expect(requests.map((r) => r.file!.name)).toEqual(['audio-part1.mp3', 'audio-part2.mp3', 'audio-part3.mp3']);
    for (const r of requests) expect(r.file!.bytes.length).toBeLessThanOrEqual(100_000);
    expect(requests.reduce((a, r) => a + r.audioSeconds!, 0)).toBeCloseTo(30, 0);
  }, 60_000);

  it('fails media ffmpeg cannot read with a clear message, not retried', async () => {
    // A WAV whose format tag names no codec anyone knows: probed fine, undecodable.
    const wav = makeWav({ seconds: 8 });
    wav.writeUInt16LE(0x1234, 20);
    const { error, requests } = await transcribe('odd.wav', wav, { maxUploadBytes: 40_000 });
    expect(error).toBeInstanceOf(PermanentError);
    expect(error!.message).toMatch(
      /over the provider's 0\.0 MB upload limit .*and cannot be cut: ffmpeg could not read its audio/,
    );
    expect(requests).toHaveLength(0);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('says ffmpeg is missing, naming FFMPEG_PATH', async () => {
    const media = await makeSpeechMedia('mp3', 10);
    const { error } = await transcribe('nofmpeg.mp3', media, {
      maxUploadBytes: Math.floor(media.length / 2),
      ffmpeg: { path: '/nonexistent/ffmpeg', timeoutMs: 10_000 },
    });
    expect(error).toBeInstanceOf(PermanentError);
    expect(error!.message).toMatch(
      /ffmpeg is needed to cut this file but was not found \(FFMPEG_PATH=\/nonexistent\/ffmpeg\)/,
    );
  });

  it('kills an ffmpeg run that outlives FFMPEG_TIMEOUT_MS and fails retryably', async () => {
    const media = await makeSpeechMedia('ogg', 10);
    const { error } = await transcribe('slow.ogg', media, {
      maxUploadBytes: Math.floor(media.length / 2),
      ffmpeg: { path: 'ffmpeg', timeoutMs: 1 },
    });
    expect(error).not.toBeInstanceOf(PermanentError);
    expect(error!.message).toBe('ffmpeg did not finish within FFMPEG_TIMEOUT_MS (1 ms)');
    expect(await readdir(scratch)).toEqual([]);
  });
});
