import { PermanentError, RetryLaterError } from '@fleet/runtime';
import { waitFor } from '@fleet/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpenAiTranscriber } from '../src/transcription-provider.ts';
import { makeWav, rejection, type StubReply, startTranscriptionStub } from './fixtures.ts';

type Stub = Awaited<ReturnType<typeof startTranscriptionStub>>;
let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function transcriberFor(reply?: StubReply, opts: { apiKey?: string; timeoutMs?: number } = {}) {
  stub = await startTranscriptionStub(reply);
  return createOpenAiTranscriber({
    baseUrl: `${stub.baseUrl}/`,
    apiKey: 'apiKey' in opts ? opts.apiKey : 'sk-test-123',
    model: 'whisper-large-v3',
    timeoutMs: opts.timeoutMs ?? 10_000,
    retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 20, maxInlineWaitMs: 5_000 },
  });
}

const wavBlob = (seconds: number) => new Blob([makeWav({ seconds })], { type: 'audio/wav' });

describe('OpenAI-compatible transcriber', () => {
  it('posts a multipart upload with the file, model, verbose_json and segment timestamps, and a bearer token', async () => {
    const transcriber = await transcriberFor();
    const wav = makeWav({ seconds: 5 });
    const result = await transcriber.transcribe({
      audio: new Blob([wav], { type: 'audio/wav' }),
      fileName: 'audio.wav',
      language: 'en',
      prompt: 'previous words',
      signal: new AbortController().signal,
    });
    expect(stub!.requests).toHaveLength(1);
    const req = stub!.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/audio/transcriptions');
    expect(req.headers.authorization).toBe('Bearer sk-test-123');
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(req.fields).toEqual([
      ['model', 'whisper-large-v3'],
      ['response_format', 'verbose_json'],
      ['timestamp_granularities[]', 'segment'],
      ['language', 'en'],
      ['prompt', 'previous words'],
    ]);
    expect(req.file).toMatchObject({ name: 'audio.wav', type: 'audio/wav' });
    expect(req.file!.bytes.equals(wav)).toBe(true);
    expect(result).toEqual({
      text: 'seg 0 seg 1 seg 2',
      language: 'english',
      durationSeconds: 5,
      segments: [
        { id: 0, start: 0, end: 2, text: ' seg 0' },
        { id: 1, start: 2, end: 4, text: ' seg 1' },
        { id: 2, start: 4, end: 5, text: ' seg 2' },
      ],
    });
  });

  it('sends no authorization header when no key is configured (self-hosted servers)', async () => {
    const transcriber = await transcriberFor(undefined, { apiKey: undefined });
    await transcriber.transcribe({ audio: wavBlob(1), fileName: 'a.wav', signal: new AbortController().signal });
    expect(stub!.requests[0]!.headers.authorization).toBeUndefined();
    expect(stub!.requests[0]!.fields.map(([k]) => k)).not.toContain('language');
  });

  it('maps provider errors: bad key and rejected file are permanent, 429 waits, 5xx retries', async () => {
    const replies: Record<string, ReturnType<StubReply>> = {
      auth: { status: 401, body: { error: { message: 'Incorrect API key provided' } } },
      file: { status: 400, body: { error: { message: 'Invalid file format.' } } },
      rate: { status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached' } } },
      down: { status: 503, body: '<html>bad gateway</html>' },
      garbage: { status: 200, body: '<html>login page</html>' },
    };
    let next = 'auth';
    const transcriber = await transcriberFor(() => replies[next]!);
    const attempt = async (which: string) => {
      next = which;
      return rejection(
        transcriber.transcribe({ audio: wavBlob(1), fileName: 'a.wav', signal: new AbortController().signal }),
      );
    };
    const auth = await attempt('auth');
    expect(auth).toBeInstanceOf(PermanentError);
    expect(auth.message).toMatch(
      /refused the credentials \(HTTP 401\): Incorrect API key provided; check TRANSCRIPTION_API_KEY/,
    );
    const file = await attempt('file');
    expect(file).toBeInstanceOf(PermanentError);
    expect(file.message).toMatch(/rejected the file \(HTTP 400\): Invalid file format\./);
    const rate = await attempt('rate');
    expect(rate).toBeInstanceOf(RetryLaterError);
    expect((rate as RetryLaterError).delayMs).toBe(7_000);
    const down = await attempt('down');
    expect(down).not.toBeInstanceOf(PermanentError);
    expect(down.message).toMatch(/HTTP 503\): <html>bad gateway<\/html>/);
    const garbage = await attempt('garbage');
    expect(garbage).not.toBeInstanceOf(PermanentError);
    expect(garbage.message).toMatch(/unexpected response: <html>login page/);
  });

  it('aborts the upload when the job is cancelled mid-request', async () => {
    const transcriber = await transcriberFor();
    let bytesSeen = 0;
    const closed = new Promise<void>((resolve) => {
      // Read the upload slowly and never answer, as a provider busy with a long file does.
      stub!.holdRequests((req) => {
        req.on('data', (c: Buffer) => {
          bytesSeen += c.length;
          req.pause();
          setTimeout(() => req.resume(), 20);
        });
        req.on('close', () => resolve());
      });
    });
    const controller = new AbortController();
    const pending = rejection(
      transcriber.transcribe({ audio: wavBlob(120), fileName: 'long.wav', signal: controller.signal }),
    );
    await waitFor(() => bytesSeen > 0 || undefined, { timeoutMs: 5_000, what: 'upload started' });
    controller.abort('cancelled by an operator');
    const err = await pending;
    expect(err.name).toBe('AbortError');
    expect(err.message).toBe('transcription aborted: cancelled by an operator');
    await closed; // the server saw the connection go away
    expect(bytesSeen).toBeLessThan(makeWav({ seconds: 120 }).length);
  });

  it('gives up after TRANSCRIPTION_TIMEOUT_MS with a retryable error', async () => {
    const transcriber = await transcriberFor(undefined, { timeoutMs: 200 });
    stub!.holdRequests(() => {});
    const err = await rejection(
      transcriber.transcribe({ audio: wavBlob(1), fileName: 'a.wav', signal: new AbortController().signal }),
    );
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/timed out after 200 ms \(TRANSCRIPTION_TIMEOUT_MS\)/);
  });
});
