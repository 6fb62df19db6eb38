import type { FileHandle } from 'node:fs/promises';
import type { WavLayout } from './wav.ts';

/**
 * Finds where to cut PCM audio so a part does not end mid-word: the quietest short window near
 * the planned cut. Whisper drops or garbles words cut in half, so a cut a second or two off the
 * even split is worth it.
 */

/** Reads one frame's samples as numbers (any scale; only relative energy matters). */
type SampleReader = (buf: Buffer, at: number) => number;

/** The sample decoder for a layout, or undefined for encodings not searched (A-law, µ-law, ...). */
export function sampleReader(layout: WavLayout): SampleReader | undefined {
  let tag = layout.formatTag;
  if (tag === 0xfffe && layout.fmtChunk.length >= 8 + 40) {
    // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the SubFormat GUID.
    tag = layout.fmtChunk.readUInt16LE(8 + 24);
  }
  const bits = layout.bitsPerSample;
  if (tag === 1) {
    if (bits === 8) return (b, at) => b.readUInt8(at) - 128;
    if (bits === 16) return (b, at) => b.readInt16LE(at);
    if (bits === 24) return (b, at) => b.readIntLE(at, 3);
    if (bits === 32) return (b, at) => b.readInt32LE(at);
  }
  if (tag === 3) {
    if (bits === 32) return (b, at) => b.readFloatLE(at);
    if (bits === 64) return (b, at) => b.readDoubleLE(at);
  }
  return undefined;
}

export interface QuietCutOptions {
  /** Frames either side of the planned cut to search. */
  radiusFrames: number;
  /** Length of the windows compared, in frames (about 20 ms). */
  windowFrames: number;
}

/**
 * The frame to cut at: the middle of the quietest window within `radiusFrames` of `target`, when
 * it is clearly quieter (under half the median window energy, i.e. a pause); otherwise `target`.
 */
export async function quietCut(
  file: FileHandle,
  layout: WavLayout,
  read: SampleReader,
  target: number,
  opts: QuietCutOptions,
): Promise<number> {
  const from = Math.max(0, target - opts.radiusFrames);
  const to = Math.min(layout.frames, target + opts.radiusFrames);
  const windows = Math.floor((to - from) / opts.windowFrames);
  if (windows < 3) return target;
  const buf = Buffer.alloc(windows * opts.windowFrames * layout.blockAlign);
  await file.read(buf, 0, buf.length, layout.dataOffset + from * layout.blockAlign);
  const bytesPerSample = layout.blockAlign / layout.channels;
  const energy: number[] = [];
  for (let w = 0; w < windows; w++) {
    let sum = 0;
    const start = w * opts.windowFrames * layout.blockAlign;
    const end = start + opts.windowFrames * layout.blockAlign;
    for (let at = start; at < end; at += bytesPerSample) {
      const v = read(buf, at);
      sum += v * v;
    }
    energy.push(sum);
  }
  const median = [...energy].sort((a, b) => a - b)[Math.floor(windows / 2)]!;
  // The quietest window under half the median (a pause, not just a soft syllable); among equally
  // quiet ones (digital silence) the one nearest the planned cut, to keep parts even.
  const centreDistance = (w: number) => Math.abs(from + w * opts.windowFrames + opts.windowFrames / 2 - target);
  let best = -1;
  for (let w = 0; w < windows; w++) {
    const e = energy[w]!;
    if (e >= median * 0.5) continue;
    if (best < 0) best = w;
    else if (e < energy[best]! * 0.999) best = w;
    else if (e <= energy[best]! * 1.001 && centreDistance(w) < centreDistance(best)) best = w;
  }
  return best < 0 ? target : from + best * opts.windowFrames + Math.floor(opts.windowFrames / 2);
}
