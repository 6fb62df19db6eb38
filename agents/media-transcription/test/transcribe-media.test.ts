import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { parseAllowlist } from '@fleet/safe-fetch';
import { createTestDatabase, type TestDatabase, waitFor } from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TranscribeSettings, transcribeMedia, transcriptionCostUsd } from '../src/transcribe-media.ts';
import { createOpenAiTranscriber } from '../src/transcription-provider.ts';
import { makeAiff, makeMp3, makeWav, rejection, startFileServer, startTranscriptionStub } from './fixtures.ts';

let t: TestDatabase;
let workspaceId: string;
let root: string;
let scratch: string;
let stub: Awaited<ReturnType<typeof startTranscriptionStub>>;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  t = await createTestDatabase('media_tx');
  const org = await t.db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  ({ id: workspaceId } = await t.db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'WS' })
    .returning('id')
    .executeTakeFirstOrThrow());
  const base = await mkdtemp(join(tmpdir(), 'mt-media-'));
  root = join(base, 'media');
  scratch = join(base, 'scratch');
  await mkdir(root);
  await mkdir(scratch);
  await writeFile(join(base, 'outside.wav'), makeWav({ seconds: 1 }));
});
afterAll(async () => {
  await rm(join(root, '..'), { recursive: true, force: true });
  await t.drop();
});
beforeEach(async () => {
  stub = await startTranscriptionStub();
});
afterEach(async () => {
  await stub.close();
});

function settings(over: Partial<TranscribeSettings> = {}): TranscribeSettings {
  return {
    mediaRoot: root,
    maxBytes: 50 * 1024 * 1024,
    downloadTimeoutMs: 10_000,
    tmpDir: scratch,
    maxDurationSeconds: 3600,
    maxUploadBytes: 25_000_000,
    pricePerMinuteUsd: 0.006,
    ...over,
  };
}

async function mediaFile(source: string): Promise<string> {
  const row = await t.db
    .insertInto('media_files')
    .values({ workspace_id: workspaceId, source })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function put(name: string, bytes: Buffer): Promise<string> {
  await writeFile(join(root, name), bytes);
  return mediaFile(name);
}

function run(
  mediaFileId: string,
  over: Partial<TranscribeSettings> = {},
  job: { signal?: AbortSignal; finalAttempt?: boolean } = {},
) {
  const progress: JsonObject[] = [];
  const provider = createOpenAiTranscriber({
    baseUrl: stub.baseUrl,
    apiKey: 'k',
    model: 'whisper-1',
    timeoutMs: 10_000,
  });
  const promise = transcribeMedia(
    { db: t.db, log, provider, settings: settings(over) },
    {
      workspaceId,
      mediaFileId,
      signal: job.signal ?? new AbortController().signal,
      progress: async (p) => {
        progress.push(p);
      },
      finalAttempt: job.finalAttempt ?? true,
    },
  );
  return { promise, progress };
}

const fileRow = (id: string) =>
  t.db.selectFrom('media_files').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const transcriptRow = (id: string) =>
  t.db.selectFrom('media_transcripts').selectAll().where('media_file_id', '=', id).executeTakeFirst();

async function failure(id: string, over: Partial<TranscribeSettings> = {}): Promise<Error> {
  const err = await rejection(run(id, over).promise);
  expect(err).toBeInstanceOf(PermanentError);
  return err as Error;
}

describe('transcribeMedia', () => {
  it('transcribes a WAV file from the media root: duration, cost, transcript and file status', async () => {
    const wav = makeWav({ seconds: 90 });
    const id = await put('talk.wav', wav);
    const { promise, progress } = run(id);
    const result = await promise;
    expect(result.costUsd).toBe(0.009); // 1.5 min × $0.006
    expect(result.output).toMatchObject({
      media_file_id: id,
      format: 'wav',
      duration_seconds: 90,
      size_bytes: wav.length,
      chunks: 1,
      segments: 45,
      language: 'english',
      model: 'whisper-1',
    });
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]!.file!.bytes.equals(wav)).toBe(true);
    const transcript = await transcriptRow(id);
    expect(transcript).toMatchObject({
      id: result.output.transcript_id,
      workspace_id: workspaceId,
      language: 'english',
      duration_seconds: '90.000',
      model: 'whisper-1',
      chunk_count: 1,
      cost_usd: '0.009000',
    });
    expect(transcript!.text).toMatch(/^seg 0 seg 1 .* seg 44$/);
    expect((transcript!.segments as unknown[]).at(-1)).toEqual({ id: 44, start: 88, end: 90, text: 'seg 44' });
    expect(await fileRow(id)).toMatchObject({
      status: 'transcribed',
      duration_seconds: '90.000',
      size_bytes: wav.length,
      mime_type: 'audio/wav',
      error_message: null,
    });
    expect(progress.map((p) => p.phase)).toEqual(['fetching', 'transcribing', 'done']);
  });

  it('splits a WAV over the upload limit and stitches the segments at the right offsets', async () => {
    const id = await put('long.wav', makeWav({ seconds: 10 })); // 160,044 bytes
    const { promise, progress } = run(id, { maxUploadBytes: 50_000 });
    const result = await promise;
    expect(result.output).toMatchObject({ chunks: 4, duration_seconds: 10 });
    expect(stub.requests.map((r) => r.audioSeconds)).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(stub.requests.map((r) => r.file!.name)).toEqual([1, 2, 3, 4].map((n) => `audio-part${n}.wav`));
    // Each part after the first continues from the previous part's text.
    expect(stub.requests[0]!.fields.find(([k]) => k === 'prompt')).toBeUndefined();
    expect(stub.requests[1]!.fields).toContainEqual(['prompt', 'seg 0 seg 1']);
    const transcript = await transcriptRow(id);
    expect(transcript!.chunk_count).toBe(4);
    expect((transcript!.segments as { start: number; end: number }[]).map((s) => [s.start, s.end])).toEqual([
      [0, 2],
      [2, 2.5],
      [2.5, 4.5],
      [4.5, 5],
      [5, 7],
      [7, 7.5],
      [7.5, 9.5],
      [9.5, 10],
    ]);
    expect(progress.filter((p) => p.phase === 'transcribing').map((p) => p.percent)).toEqual([0, 25, 50, 75]);
  });

  it('fails a corrupt file once, with a clear message, without calling the provider', async () => {
    const id = await put('broken.wav', Buffer.from('RIFF? no, just some text pretending to be audio '.repeat(50)));
    const err = await failure(id);
    expect(err.message).toMatch(/^media file is corrupt or not a recognised audio\/video format/);
    expect(stub.requests).toHaveLength(0);
    const noise = await put('noise.mp3', Buffer.from('no audio here, only words '.repeat(50)));
    expect((await failure(noise)).message).toBe(
      'media file is corrupt or not a recognised audio/video format (supported: WAV, MP3, FLAC, Ogg (Vorbis/Opus), MP4/M4A and WebM)',
    );
    expect(await fileRow(id)).toMatchObject({ status: 'failed', error_message: err.message });
  });

  it('fails a format the transcription APIs do not take, naming the ones they do', async () => {
    const id = await put('studio.aiff', makeAiff(2));
    const err = await failure(id);
    expect(err.message).toMatch(/^unsupported media format AIFF \(PCM\); supported: WAV, MP3/);
    expect(stub.requests).toHaveLength(0);
  });

  it('fails a file over MEDIA_MAX_BYTES before reading it', async () => {
    const id = await put('big.wav', makeWav({ seconds: 5 }));
    const err = await failure(id, { maxBytes: 20_000 });
    expect(err.message).toBe('media file is 80044 bytes, over the 20000 bytes limit (MEDIA_MAX_BYTES)');
    expect(stub.requests).toHaveLength(0);
    expect((await fileRow(id)).status).toBe('failed');
  });

  it('fails media longer than MEDIA_MAX_DURATION_SECONDS', async () => {
    const id = await put('hour.wav', makeWav({ seconds: 90 }));
    const err = await failure(id, { maxDurationSeconds: 60 });
    expect(err.message).toBe('media is 1m30s long, over the 1m00s limit (MEDIA_MAX_DURATION_SECONDS)');
    expect(stub.requests).toHaveLength(0);
  });

  it('refuses a compressed file over the upload limit without ffmpeg, saying that only PCM WAV is cut then', async () => {
    const id = await put('podcast.mp3', makeMp3(400));
    const err = await failure(id, { maxUploadBytes: 100_000 });
    expect(err.message).toMatch(
      /MPEG \(MPEG 1 Layer 3\), over the provider's 0\.1 MB upload limit .*only PCM WAV is cut without ffmpeg/,
    );
    expect(stub.requests).toHaveLength(0);
  });

  it('accepts file: URLs and absolute paths inside the media root', async () => {
    await writeFile(join(root, 'my talk.wav'), makeWav({ seconds: 2 }));
    const viaUrl = await mediaFile(`file://${join(root, 'my%20talk.wav')}`);
    expect((await run(viaUrl).promise).output.duration_seconds).toBe(2);
    const absolute = await mediaFile(join(root, 'my talk.wav'));
    expect((await run(absolute).promise).output.duration_seconds).toBe(2);
  });

  it('transcribes an MP3 within the limit, uploading it as .mp3', async () => {
    const id = await put('clip.mp3', makeMp3(400)); // 400 × 1152 / 44100 s
    const result = await run(id).promise;
    expect(result.output.duration_seconds).toBe(10.449);
    expect(stub.requests[0]!.file).toMatchObject({ name: 'audio.mp3', type: 'audio/mpeg' });
    expect((await fileRow(id)).mime_type).toBe('audio/mpeg');
  });

  it('refuses paths that escape MEDIA_ROOT, by ../ or by a symlink', async () => {
    const dotdot = await mediaFile('../outside.wav');
    expect((await failure(dotdot)).message).toMatch(/^source path \.\.\/outside\.wav is outside MEDIA_ROOT/);
    const absolute = await mediaFile(join(root, '..', 'outside.wav'));
    expect((await failure(absolute)).message).toMatch(/is outside MEDIA_ROOT/);
    await symlink(join(root, '..', 'outside.wav'), join(root, 'link.wav'));
    const linked = await mediaFile('link.wav');
    expect((await failure(linked)).message).toMatch(/^source path link\.wav resolves outside MEDIA_ROOT/);
    const viaUrl = await mediaFile(`file://${join(root, '..', 'outside.wav')}`);
    expect((await failure(viaUrl)).message).toMatch(/is outside MEDIA_ROOT/);
    const missing = await mediaFile('nope.wav');
    expect((await failure(missing)).message).toBe('source file not found: nope.wav');
    const noRoot = await put('ok.wav', makeWav({ seconds: 1 }));
    expect((await failure(noRoot, { mediaRoot: undefined })).message).toMatch(/MEDIA_ROOT is not set/);
    expect(stub.requests).toHaveLength(0);
  });

  it('refuses a media file of another workspace', async () => {
    const id = await put('mine.wav', makeWav({ seconds: 1 }));
    const provider = createOpenAiTranscriber({ baseUrl: stub.baseUrl, model: 'whisper-1', timeoutMs: 1_000 });
    const other = '5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f';
    const err = await rejection(
      transcribeMedia(
        { db: t.db, log, provider, settings: settings() },
        {
          workspaceId: other,
          mediaFileId: id,
          signal: new AbortController().signal,
          progress: async () => {},
          finalAttempt: true,
        },
      ),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`media_file_id ${id} does not exist in workspace ${other}`);
    expect((await fileRow(id)).status).toBe('uploaded');
  });

  it('downloads http sources within the size limit and deletes the copy afterwards', async () => {
    const wav = makeWav({ seconds: 4 });
    const files = await startFileServer({ '/a.wav': wav, '/big.wav': makeWav({ seconds: 20 }) });
    const chunked = await startFileServer({ '/big.wav': makeWav({ seconds: 20 }) }, { omitLength: true });
    // The test servers listen on loopback, which is refused unless MEDIA_ALLOWED_HOSTS opens it.
    const local = { allowedHosts: parseAllowlist(['127.0.0.1']) };
    try {
      const ok = await mediaFile(files.url('/a.wav?sig=secret'));
      expect((await failure(ok)).message).toMatch(
        /^source http:\/\/127\.0\.0\.1:\d+\/a\.wav refused: 127\.0\.0\.1 is a loopback address \(rule: loopback\); MEDIA_ALLOWED_HOSTS opens/,
      );
      expect((await run(ok, local).promise).output).toMatchObject({ duration_seconds: 4, size_bytes: wav.length });
      expect(stub.requests[0]!.file!.bytes.equals(wav)).toBe(true);

      const declared = await mediaFile(files.url('/big.wav'));
      expect((await failure(declared, { ...local, maxBytes: 100_000 })).message).toMatch(
        /over the .* limit \(MEDIA_MAX_BYTES\)/,
      );
      const streamed = await mediaFile(chunked.url('/big.wav'));
      expect((await failure(streamed, { ...local, maxBytes: 100_000 })).message).toMatch(
        /download exceeded the 100000 bytes limit \(MEDIA_MAX_BYTES\)/,
      );
      const gone = await mediaFile(files.url('/missing.wav?token=abc'));
      const goneErr = await failure(gone, local);
      expect(goneErr.message).toMatch(/download of http:\/\/127\.0\.0\.1:\d+\/missing\.wav failed: HTTP 404$/);
      const elsewhere = await mediaFile(files.url('/a.wav'));
      expect((await failure(elsewhere, { allowedHosts: parseAllowlist(['media.example.com']) })).message).toMatch(
        /^source http:\/\/127\.0\.0\.1:\d+\/a\.wav refused: 127\.0\.0\.1 is not in MEDIA_ALLOWED_HOSTS \(rule: allowlist\)/,
      );
      // A redirect may not lead around the allow-list.
      const other = await startFileServer({ '/a.wav': wav }, { host: '127.0.0.2' });
      const redirecting = await startFileServer({}, { redirects: { '/r.wav': other.url('/a.wav') } });
      try {
        const hop = await mediaFile(redirecting.url('/r.wav'));
        expect((await failure(hop, local)).message).toMatch(
          /^source http:\/\/127\.0\.0\.2:\d+\/a\.wav \(redirect 1\) refused: 127\.0\.0\.2 is not in MEDIA_ALLOWED_HOSTS/,
        );
        const allowed = await mediaFile(redirecting.url('/r.wav'));
        const result = await run(allowed, { allowedHosts: parseAllowlist(['127.0.0.1', '127.0.0.2']) }).promise;
        expect(result.output.duration_seconds).toBe(4);
      } finally {
        await other.close();
        await redirecting.close();
      }
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      await files.close();
      await chunked.close();
    }
  });

  it('keeps the file processing while retries remain, and fails it on the last attempt', async () => {
    await stub.close();
    stub = await startTranscriptionStub(() => ({ status: 502, body: 'upstream down' }));
    const id = await put('flaky.wav', makeWav({ seconds: 2 }));
    const first = await rejection(run(id, {}, { finalAttempt: false }).promise);
    expect(first).not.toBeInstanceOf(PermanentError);
    expect(await fileRow(id)).toMatchObject({
      status: 'processing',
      error_message: 'will retry: transcription provider error (HTTP 502): upstream down',
    });
    await run(id, {}, { finalAttempt: true }).promise.catch(() => {});
    expect(await fileRow(id)).toMatchObject({
      status: 'failed',
      error_message: 'transcription provider error (HTTP 502): upstream down',
    });
  });

  it('stops the upload when the job is aborted and leaves the file ready to queue again', async () => {
    let uploading = false;
    stub.holdRequests((req) => {
      uploading = true;
      req.resume();
    });
    const id = await put('cancel.wav', makeWav({ seconds: 30 }));
    const controller = new AbortController();
    const { promise } = run(id, {}, { signal: controller.signal });
    const settled = rejection(promise);
    await waitFor(() => uploading || undefined, { timeoutMs: 5_000, what: 'upload to start' });
    controller.abort('cancelled by an operator');
    const err = await settled;
    expect(err.name).toBe('AbortError');
    expect(await fileRow(id)).toMatchObject({
      status: 'uploaded',
      error_message: 'transcription interrupted: cancelled by an operator',
    });
    expect(await transcriptRow(id)).toBeUndefined();
  });

  it('prices minutes at the configured rate', () => {
    expect(transcriptionCostUsd(60, 0.006)).toBe(0.006);
    expect(transcriptionCostUsd(3600, 0.006)).toBe(0.36);
    expect(transcriptionCostUsd(1, 0.006)).toBe(0.0001);
    expect(transcriptionCostUsd(600, 0.04 / 60)).toBe(0.006667); // $0.04 per hour, like Groq
  });
});
