import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How each test format is encoded: real codecs, as phones and browsers record them. */
export const ENCODINGS = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '64k'],
  m4a: ['-c:a', 'aac', '-b:a', '64k'],
  ogg: ['-c:a', 'libopus', '-b:a', '32k'],
  webm: ['-c:a', 'libopus', '-b:a', '32k'],
  wav: ['-c:a', 'pcm_s16le', '-ar', '16000'],
} as const;

export type TestFormat = keyof typeof ENCODINGS;

const SENTENCE =
  'The quarterly numbers are in. Revenue grew eleven percent, churn fell, and the pilot with the new customer starts on Monday.';

/**
 * A real recording of `seconds` seconds: espeak-ng speech looped to length, mono, encoded with
 * ffmpeg into `format` (with `video`, also a small VP8 or H.264 picture track).
 */
export async function makeSpeechMedia(format: TestFormat, seconds: number, opts: { video?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'mt-speech-'));
  try {
    const speech = join(dir, 'speech.wav');
    await run('espeak-ng', ['-w', speech, SENTENCE]);
    const out = join(dir, `out.${format}`);
    const video = opts.video
      ? [
          ...['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=25:duration=${seconds}`],
          ...(format === 'webm' ? ['-c:v', 'libvpx', '-b:v', '400k'] : ['-c:v', 'libx264', '-b:v', '400k']),
        ]
      : [];
    await run('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', speech],
      ...video,
      ...['-t', String(seconds), '-ac', '1', ...ENCODINGS[format]],
      ...(opts.video ? ['-map', '0:a', '-map', '1:v'] : []),
      out,
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
