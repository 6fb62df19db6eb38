import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError } from '@fleet/runtime';
import { parseBuffer } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { continuationPrompt, planUploads, stitchTranscripts } from '../src/chunking.ts';
import { probeMedia } from '../src/probe.ts';
import { readWavLayout } from '../src/wav.ts';
import { makeMp3, makeWav } from './fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mt-chunk-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function layoutOf(bytes: Buffer) {
  const path = await put(`layout-${Math.random()}.wav`, bytes);
  const fh = await open(path, 'r');
  try {
    return await readWavLayout(fh);
  } finally {
    await fh.close();
  }
}

describe('WAV layout', () => {
  it('finds the samples of a PCM file', async () => {
    const layout = await layoutOf(makeWav({ seconds: 2, sampleRate: 8000, channels: 2 }));
    expect(layout).toMatchObject({ formatTag: 1, channels: 2, sampleRate: 8000, blockAlign: 4, dataOffset: 44 });
    expect(layout.frames).toBe(16000);
    expect(layout.truncated).toBe(false);
  });

  it('uses the samples that are there when the header promises more (a cut-off recording)', async () => {
    const full = makeWav({ seconds: 2 });
    const cut = full.subarray(0, 44 + 1001); // half a frame at the end
    const layout = await layoutOf(cut);
    expect(layout.truncated).toBe(true);
    expect(layout.frames).toBe(500);
    expect(layout.dataBytes).toBe(1000);
  });

  it('refuses something that is not RIFF/WAVE', async () => {
    await expect(layoutOf(Buffer.from('definitely not a wave file, only text'))).rejects.toThrow(/not a RIFF\/WAVE/);
  });
});

describe('planUploads', () => {
  it('sends a file within the upload limit whole', async () => {
    const bytes = makeWav({ seconds: 3 });
    const path = await put('small.wav', bytes);
    const parts = await planUploads(path, bytes.length, await probeMedia(path), bytes.length);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ startSeconds: 0, durationSeconds: 3, fileName: 'audio.wav', bytes: bytes.length });
    expect(Buffer.from(await parts[0]!.audio.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('splits a large WAV into equal, valid WAV files on frame boundaries that together hold every sample', async () => {
    const bytes = makeWav({ seconds: 10, sampleRate: 8000 }); // 160,044 bytes
    const path = await put('large.wav', bytes);
    const limit = 50_000;
    const parts = await planUploads(path, bytes.length, await probeMedia(path), limit);
    expect(parts.map((p) => p.startSeconds)).toEqual([0, 2.5, 5, 7.5]);
    const data: Buffer[] = [];
    for (const part of parts) {
      expect(part.audio.size).toBeLessThanOrEqual(limit);
      expect(part.fileName).toBe(`audio-part${part.index + 1}.wav`);
      const buf = Buffer.from(await part.audio.arrayBuffer());
      const meta = await parseBuffer(buf, { mimeType: 'audio/wav' }, { duration: true });
      expect(meta.format).toMatchObject({ container: 'WAVE', sampleRate: 8000, numberOfChannels: 1, duration: 2.5 });
      expect(buf.readUInt32LE(4)).toBe(buf.length - 8); // RIFF size
      data.push(buf.subarray(44));
    }
    expect(Buffer.concat(data).equals(bytes.subarray(44))).toBe(true);
  });

  it('moves each cut to a pause near the even split, keeping every part within the limit', async () => {
    // Even split: 4 parts of 2.5 s. Pauses at 2.40-2.45 s and 7.55-7.60 s; none near 5 s.
    const bytes = makeWav({
      seconds: 10,
      silences: [
        [2.4, 2.45],
        [7.55, 7.6],
      ],
    });
    const path = await put('pauses.wav', bytes);
    const parts = await planUploads(path, bytes.length, await probeMedia(path), 50_000);
    const starts = parts.map((p) => p.startSeconds);
    expect(starts).toHaveLength(4);
    expect(starts[1]).toBeGreaterThanOrEqual(2.4);
    expect(starts[1]).toBeLessThan(2.45);
    expect(starts[2]).toBe(5); // nothing quieter there: the even cut stays
    expect(starts[3]).toBeGreaterThanOrEqual(7.55);
    expect(starts[3]).toBeLessThan(7.6);
    let frames = 0;
    for (const part of parts) {
      expect(part.audio.size).toBeLessThanOrEqual(50_000);
      frames += Buffer.from(await part.audio.arrayBuffer()).readUInt32LE(40) / 2;
    }
    expect(frames).toBe(80_000);
  });

  it('pads odd-sized pieces of 8-bit audio so each stays a valid RIFF file', async () => {
    const bytes = makeWav({ seconds: 3, sampleRate: 8001, bits: 8 }); // 24,003 one-byte frames
    const path = await put('odd.wav', bytes);
    const parts = await planUploads(path, bytes.length, await probeMedia(path), 8_935);
    expect(parts.length).toBe(3);
    let frames = 0;
    for (const part of parts) {
      const buf = Buffer.from(await part.audio.arrayBuffer());
      const dataBytes = buf.readUInt32LE(40);
      frames += dataBytes;
      expect(dataBytes % 2).toBe(1);
      expect(buf.length).toBe(44 + dataBytes + (dataBytes % 2));
      expect(buf.readUInt32LE(4)).toBe(buf.length - 8);
    }
    expect(frames).toBe(24_003);
  });

  it('refuses a compressed file over the upload limit without ffmpeg and says why', async () => {
    const bytes = makeMp3(400);
    const path = await put('big.mp3', bytes);
    const probe = await probeMedia(path);
    const err = await planUploads(path, bytes.length, probe, 100_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(
      /over the provider's 0\.1 MB upload limit \(TRANSCRIPTION_MAX_UPLOAD_BYTES\)/,
    );
    expect((err as Error).message).toMatch(/only PCM WAV is cut without ffmpeg/);
  });
});

describe('stitchTranscripts', () => {
  it('shifts each part’s segments by its start, renumbers them and joins the text', () => {
    const t = stitchTranscripts([
      {
        startSeconds: 300,
        result: {
          text: 'second part',
          language: 'en',
          durationSeconds: 10,
          segments: [{ id: 0, start: 0.5, end: 4.25, text: ' second part' }],
        },
      },
      {
        startSeconds: 0,
        result: {
          text: ' first part. ',
          language: 'en',
          durationSeconds: 300,
          segments: [
            { id: 0, start: 0, end: 2, text: ' first' },
            { id: 1, start: 2, end: 299.9996, text: ' part.' },
          ],
        },
      },
    ]);
    expect(t.text).toBe('first part. second part');
    expect(t.language).toBe('en');
    expect(t.segments).toEqual([
      { id: 0, start: 0, end: 2, text: 'first' },
      { id: 1, start: 2, end: 300, text: 'part.' },
      { id: 2, start: 300.5, end: 304.25, text: 'second part' },
    ]);
  });

  it('keeps the language most parts report', () => {
    const part = (startSeconds: number, language: string | null) => ({
      startSeconds,
      result: { text: 'x', language, durationSeconds: 1, segments: [] },
    });
    expect(stitchTranscripts([part(0, 'de'), part(1, 'en'), part(2, 'en'), part(3, null)]).language).toBe('en');
    expect(stitchTranscripts([part(0, null)]).language).toBeNull();
  });
});

describe('continuationPrompt', () => {
  it('passes the end of the previous text, cut at a word', () => {
    expect(continuationPrompt('  short text ')).toBe('short text');
    expect(continuationPrompt('')).toBeUndefined();
    expect(continuationPrompt('alpha beta gamma delta', 12)).toBe('gamma delta');
    expect(continuationPrompt('alpha beta gamma delta', 10)).toBe('delta');
  });
});
