import { openAsBlob } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '@fleet/runtime';
import { FfmpegError, type FfmpegSettings, runFfmpeg } from './ffmpeg.ts';
import { type MediaProbe, MIME_TYPES, type UploadFormat } from './probe.ts';

/**
 * Cutting compressed media with ffmpeg. First the audio stream alone is copied out (no
 * re-encoding: a video's picture is most of its size, and copying keeps the codec's own frame
 * boundaries, MP3 frames, AAC access units, Ogg/WebM packets); if that is still over the limit it
 * is cut, again by copying, into near-equal parts at the times ffmpeg reports. Only when copying
 * fails (a codec the container of the upload cannot hold) or cannot get under the limit is the
 * audio re-encoded: mono 16 kHz MP3, what speech recognition reads anyway.
 */

/** Where cutting happens: a scratch directory of the job, ffmpeg's settings and the job's signal. */
export interface CutContext {
  workDir: string;
  ffmpeg: FfmpegSettings;
  signal?: AbortSignal;
}

/** One file ffmpeg wrote, with where it sits in the original's timeline. */
export interface CutPiece {
  path: string;
  fileName: string;
  mimeType: string;
  startSeconds: number;
  durationSeconds: number;
  bytes: number;
  method: 'stream-copy' | 're-encode';
}

/** Upload formats the audio can be copied into unchanged (WAV is cut natively, see wav.ts). */
const COPY_FORMATS: ReadonlySet<UploadFormat> = new Set(['mp3', 'm4a', 'ogg', 'webm', 'flac']);
/** Parts aim this far under the limit: packet sizes vary, and a part may not outgrow it. */
const HEADROOM = 0.9;
/** Bitrate of the re-encoded fallback. */
const REENCODE_BITS_PER_SECOND = 48_000;
const COPY_TRIES = 3;

const MB = 1024 * 1024;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

/** The segment muxer's CSV list: `name,start,end` per piece, times in seconds. */
function parseSegmentList(csv: string): Array<{ name: string; start: number; end: number }> {
  return csv
    .trim()
    .split(/\r?\n/)
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(',');
      const end = Number(fields.pop());
      const start = Number(fields.pop());
      return { name: fields.join(',').replace(/^"|"$/g, ''), start, end };
    });
}

/** Cut points for `parts` near-equal parts of `duration` seconds (no tiny tail). */
function cutTimes(duration: number, parts: number): string {
  return Array.from({ length: parts - 1 }, (_, i) => (((i + 1) * duration) / parts).toFixed(3)).join(',');
}

async function segment(
  ctx: CutContext,
  input: string,
  codecArgs: string[],
  ext: string,
  mimeType: string,
  duration: number,
  parts: number,
  method: CutPiece['method'],
): Promise<CutPiece[]> {
  const prefix = `${method}-${parts}-`;
  const list = join(ctx.workDir, `${prefix}list.csv`);
  await runFfmpeg(
    ctx.ffmpeg,
    [
      ...['-i', input, '-map', '0:a:0', '-vn', '-sn', '-dn', ...codecArgs],
      ...['-f', 'segment', '-segment_times', cutTimes(duration, parts), '-reset_timestamps', '1'],
      ...['-segment_list', list, '-segment_list_type', 'csv', join(ctx.workDir, `${prefix}%03d.${ext}`)],
    ],
    ctx.signal,
  );
  const entries = parseSegmentList(await readFile(list, 'utf8'));
  return Promise.all(
    entries.map(async (e, i) => {
      const path = join(ctx.workDir, e.name);
      return {
        path,
        fileName: `audio-part${i + 1}.${ext}`,
        mimeType,
        startSeconds: e.start,
        durationSeconds: Math.max(0, e.end - e.start),
        bytes: (await stat(path)).size,
        method,
      };
    }),
  );
}

async function removeAll(pieces: CutPiece[]) {
  await Promise.all(pieces.map((p) => rm(p.path, { force: true })));
}

/** Copies the audio out and cuts it by copying; undefined when copying cannot produce valid parts. */
async function cutByCopying(
  ctx: CutContext,
  path: string,
  probe: MediaProbe,
  maxUploadBytes: number,
): Promise<CutPiece[] | undefined> {
  const format = probe.format;
  if (!COPY_FORMATS.has(format)) return undefined;
  const audio = join(ctx.workDir, `audio.${format}`);
  try {
    await runFfmpeg(ctx.ffmpeg, ['-i', path, '-map', '0:a:0', '-vn', '-sn', '-dn', '-c:a', 'copy', audio], ctx.signal);
  } catch (err) {
    if (err instanceof FfmpegError) return undefined;
    throw err;
  }
  const audioBytes = (await stat(audio)).size;
  const mimeType = MIME_TYPES[format];
  if (audioBytes <= maxUploadBytes) {
    return [
      {
        path: audio,
        fileName: `audio.${format}`,
        mimeType,
        startSeconds: 0,
        durationSeconds: probe.durationSeconds,
        bytes: audioBytes,
        method: 'stream-copy',
      },
    ];
  }
  let parts = Math.ceil(audioBytes / (maxUploadBytes * HEADROOM));
  for (let attempt = 0; attempt < COPY_TRIES; attempt++, parts++) {
    let pieces: CutPiece[];
    try {
      pieces = await segment(
        ctx,
        audio,
        ['-c:a', 'copy'],
        format,
        mimeType,
        probe.durationSeconds,
        parts,
        'stream-copy',
      );
    } catch (err) {
      if (err instanceof FfmpegError) return undefined;
      throw err;
    }
    if (pieces.every((p) => p.bytes <= maxUploadBytes && p.durationSeconds > 0)) return pieces;
    await removeAll(pieces);
  }
  return undefined;
}

/**
 * Audio files of at most `maxUploadBytes` covering the media, with their start times. Throws a
 * PermanentError naming the reason when the media cannot be cut (ffmpeg missing, or unable to
 * decode the audio).
 */
export async function cutWithFfmpeg(
  ctx: CutContext,
  path: string,
  sizeBytes: number,
  probe: MediaProbe,
  maxUploadBytes: number,
): Promise<CutPiece[]> {
  const copied = await cutByCopying(ctx, path, probe, maxUploadBytes);
  if (copied) return copied;
  const bytesPerSecond = REENCODE_BITS_PER_SECOND / 8;
  const maxSeconds = (maxUploadBytes * HEADROOM) / bytesPerSecond;
  if (maxSeconds < 1) {
    throw new PermanentError(
      `TRANSCRIPTION_MAX_UPLOAD_BYTES (${maxUploadBytes}) is too small to hold one second of re-encoded audio`,
    );
  }
  const parts = Math.max(1, Math.ceil(probe.durationSeconds / maxSeconds));
  const codec = ['-ac', '1', '-ar', '16000', '-c:a', 'libmp3lame', '-b:a', String(REENCODE_BITS_PER_SECOND)];
  try {
    return await segment(ctx, path, codec, 'mp3', MIME_TYPES.mp3, probe.durationSeconds, parts, 're-encode');
  } catch (err) {
    if (!(err instanceof FfmpegError)) throw err;
    throw new PermanentError(
      `media file is ${mb(sizeBytes)} of ${probe.container}${probe.codec ? ` (${probe.codec})` : ''}, over the ` +
        `provider's ${mb(maxUploadBytes)} upload limit (TRANSCRIPTION_MAX_UPLOAD_BYTES), and cannot be cut: ` +
        `ffmpeg could not read its audio (${err.message.replace(/^ffmpeg failed \([^)]*\): /, '')})`,
      { cause: err },
    );
  }
}

/** The pieces as uploads, each backed by its file (read only when the upload streams it). */
export async function piecesAsBlobs(pieces: CutPiece[]) {
  return Promise.all(pieces.map(async (p) => ({ piece: p, audio: await openAsBlob(p.path, { type: p.mimeType }) })));
}
