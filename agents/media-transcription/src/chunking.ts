import { openAsBlob } from 'node:fs';
import { open } from 'node:fs/promises';
import { PermanentError } from '@fleet/runtime';
import { type CutContext, cutWithFfmpeg, piecesAsBlobs } from './ffmpeg-cut.ts';
import type { MediaProbe } from './probe.ts';
import { quietCut, sampleReader } from './quiet-cut.ts';
import type { TranscriptionResult, TranscriptSegment } from './transcription-provider.ts';
import { isSplittableWav, readWavLayout, WavFormatError, type WavLayout, wavHeader } from './wav.ts';

/** One upload to the provider: the whole file, or a piece of a WAV file with its own header. */
export interface UploadPart {
  index: number;
  /** Where this part starts in the original media, in seconds (the offset of its timestamps). */
  startSeconds: number;
  durationSeconds: number;
  bytes: number;
  fileName: string;
  /** Backed by the file on disk: nothing is read into memory until the upload streams it. */
  audio: Blob;
  /** How the part was made: the file itself, WAV frames, or ffmpeg copying or re-encoding the audio. */
  method: 'whole' | 'wav-frames' | 'stream-copy' | 're-encode';
}

const MB = 1024 * 1024;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

/**
 * Splits media into uploads the provider accepts. Files within `maxUploadBytes` go whole; larger
 * PCM WAV files are cut on frame boundaries into near-equal parts (no tiny tail, which Whisper
 * tends to fill with invented text), at pauses where there are some, each with a valid header;
 * anything else larger (MP3, M4A/AAC, Ogg/Opus, WebM, FLAC, video, non-PCM WAV) is cut by ffmpeg
 * (`ffmpeg-cut.ts`), refused without it (no `cut` context).
 */
export async function planUploads(
  path: string,
  sizeBytes: number,
  probe: MediaProbe,
  maxUploadBytes: number,
  cut?: CutContext,
): Promise<UploadPart[]> {
  const baseName = 'audio';
  if (sizeBytes <= maxUploadBytes) {
    const audio = await openAsBlob(path, { type: probe.mimeType });
    return [
      {
        index: 0,
        startSeconds: 0,
        durationSeconds: probe.durationSeconds,
        bytes: sizeBytes,
        fileName: `${baseName}.${probe.format}`,
        audio,
        method: 'whole',
      },
    ];
  }
  const viaFfmpeg = async () => {
    if (!cut) {
      throw new PermanentError(
        `media file is ${mb(sizeBytes)} of ${probe.container}${probe.codec ? ` (${probe.codec})` : ''}, over the ` +
          `provider's ${mb(maxUploadBytes)} upload limit (TRANSCRIPTION_MAX_UPLOAD_BYTES), and only PCM WAV is ` +
          'cut without ffmpeg. Re-encode it smaller (e.g. mono 64 kbps MP3 is about 0.5 MB per minute) or upload it in parts.',
      );
    }
    const pieces = await piecesAsBlobs(await cutWithFfmpeg(cut, path, sizeBytes, probe, maxUploadBytes));
    return pieces.map(({ piece, audio }, index) => ({
      index,
      startSeconds: piece.startSeconds,
      durationSeconds: piece.durationSeconds,
      bytes: piece.bytes,
      fileName: piece.fileName,
      audio,
      method: piece.method,
    }));
  };
  if (probe.format !== 'wav') return viaFfmpeg();
  const file = await open(path, 'r');
  let layout: Awaited<ReturnType<typeof readWavLayout>>;
  try {
    layout = await readWavLayout(file);
  } catch (err) {
    if (err instanceof WavFormatError) throw new PermanentError(`WAV file is corrupt: ${err.message}`, { cause: err });
    throw err;
  } finally {
    await file.close();
  }
  if (!isSplittableWav(layout)) {
    if (cut) return viaFfmpeg();
    throw new PermanentError(
      `WAV file is ${mb(sizeBytes)}, over the ${mb(maxUploadBytes)} upload limit, and its encoding ` +
        `(format tag 0x${layout.formatTag.toString(16)}) cannot be split on frame boundaries; convert it to PCM`,
    );
  }
  if (layout.frames === 0) throw new PermanentError('WAV file holds no audio samples');
  const headerBytes = 12 + layout.fmtChunk.length + 8;
  // One spare byte for the pad a RIFF chunk of odd size needs.
  const maxFrames = Math.floor((maxUploadBytes - headerBytes - 1) / layout.blockAlign);
  if (maxFrames < layout.sampleRate) {
    throw new PermanentError(
      `TRANSCRIPTION_MAX_UPLOAD_BYTES (${maxUploadBytes}) is too small to hold one second of this WAV file`,
    );
  }
  const cuts = await planCuts(path, layout, maxFrames);
  const whole = await openAsBlob(path);
  const parts: UploadPart[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const firstFrame = cuts[i]!;
    const frames = cuts[i + 1]! - firstFrame;
    const dataBytes = frames * layout.blockAlign;
    const from = layout.dataOffset + firstFrame * layout.blockAlign;
    const pieces: Array<Blob | Uint8Array> = [
      wavHeader(layout.fmtChunk, dataBytes),
      whole.slice(from, from + dataBytes),
    ];
    if (dataBytes % 2 === 1) pieces.push(new Uint8Array(1));
    const audio = new Blob(pieces, { type: 'audio/wav' });
    parts.push({
      index: i,
      startSeconds: firstFrame / layout.sampleRate,
      durationSeconds: frames / layout.sampleRate,
      bytes: audio.size,
      fileName: `${baseName}-part${i + 1}.wav`,
      audio,
      method: 'wav-frames',
    });
  }
  return parts;
}

/**
 * Frame numbers where parts start, plus the end: an even split into parts of at most `maxFrames`,
 * each cut moved to a pause within a couple of seconds when the encoding can be searched. The even
 * split leaves room for that move (2 × radius), so no part outgrows the limit.
 */
async function planCuts(path: string, layout: WavLayout, maxFrames: number): Promise<number[]> {
  const read = sampleReader(layout);
  const radiusFrames = read ? Math.min(Math.round(2.5 * layout.sampleRate), Math.floor(maxFrames * 0.05)) : 0;
  const partCount = Math.ceil(layout.frames / (maxFrames - 2 * radiusFrames));
  const framesPerPart = Math.ceil(layout.frames / partCount);
  const cuts = [0];
  const file = read && partCount > 1 ? await open(path, 'r') : undefined;
  try {
    for (let i = 1; i < partCount; i++) {
      const target = i * framesPerPart;
      cuts.push(
        file && read
          ? await quietCut(file, layout, read, target, {
              radiusFrames,
              windowFrames: Math.max(1, Math.round(layout.sampleRate / 50)),
            })
          : target,
      );
    }
  } finally {
    await file?.close();
  }
  cuts.push(layout.frames);
  return cuts;
}

/** What a transcript is stored as. */
export interface StitchedTranscript {
  text: string;
  language: string | null;
  segments: TranscriptSegment[];
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Joins the parts' transcripts in order: text concatenated, segment times shifted by the part's
 * start and renumbered, language the one most parts report.
 */
export function stitchTranscripts(
  parts: ReadonlyArray<{ startSeconds: number; result: TranscriptionResult }>,
): StitchedTranscript {
  const ordered = [...parts].sort((a, b) => a.startSeconds - b.startSeconds);
  const segments: TranscriptSegment[] = [];
  for (const { startSeconds, result } of ordered) {
    for (const s of result.segments) {
      segments.push({
        id: segments.length,
        start: round3(startSeconds + s.start),
        end: round3(startSeconds + s.end),
        text: s.text.trim(),
      });
    }
  }
  const text = ordered
    .map((p) => p.result.text.trim())
    .filter(Boolean)
    .join(' ');
  const votes = new Map<string, number>();
  for (const p of ordered) {
    if (p.result.language) votes.set(p.result.language, (votes.get(p.result.language) ?? 0) + 1);
  }
  let language: string | null = null;
  for (const [lang, n] of votes) if (language === null || n > (votes.get(language) ?? 0)) language = lang;
  return { text, language, segments };
}

/** The end of the previous part's text, passed as the next part's prompt (Whisper reads ~224 tokens). */
export function continuationPrompt(previousText: string, maxChars = 400): string | undefined {
  const t = previousText.trim();
  if (!t) return undefined;
  if (t.length <= maxChars) return t;
  const tail = t.slice(-maxChars);
  // Drop the first word unless the cut fell exactly between two words.
  if (/\s/.test(t.charAt(t.length - maxChars - 1)) || /^\s/.test(tail)) return tail.trim();
  const space = tail.search(/\s/);
  return space > 0 ? tail.slice(space + 1).trim() : tail;
}
