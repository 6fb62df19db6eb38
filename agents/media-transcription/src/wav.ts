import type { FileHandle } from 'node:fs/promises';

/**
 * Just enough RIFF/WAVE to split PCM audio on frame boundaries: where the samples are, how big a
 * frame is, and a header to put in front of each piece. Decoding is left to the provider.
 */
export interface WavLayout {
  /** The whole `fmt ` chunk (id, size and body), copied verbatim into every piece's header. */
  fmtChunk: Buffer;
  /** 1 = PCM, 3 = IEEE float, 0xFFFE = WAVE_FORMAT_EXTENSIBLE, ... */
  formatTag: number;
  channels: number;
  sampleRate: number;
  /** Bytes per frame (one sample of every channel). */
  blockAlign: number;
  bitsPerSample: number;
  /** Byte offset of the first sample in the file. */
  dataOffset: number;
  /** Bytes of sample data, a whole number of frames, never past the end of the file. */
  dataBytes: number;
  /** dataBytes / blockAlign. */
  frames: number;
  /** True when the header promised more data than the file holds (a cut-off recording). */
  truncated: boolean;
}

export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

/** Format tags whose data is fixed-size frames that may be cut anywhere on a frame boundary. */
const SPLITTABLE_FORMAT_TAGS = new Set([0x0001, 0x0003, 0x0006, 0x0007, 0xfffe]);

/** Reads the chunk list of a WAV file without loading its samples. */
export async function readWavLayout(file: FileHandle): Promise<WavLayout> {
  const { size: fileSize } = await file.stat();
  const head = Buffer.alloc(12);
  await file.read(head, 0, 12, 0);
  if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let fmtChunk: Buffer | undefined;
  let pos = 12;
  const chunkHead = Buffer.alloc(8);
  while (pos + 8 <= fileSize) {
    await file.read(chunkHead, 0, 8, pos);
    const id = chunkHead.toString('ascii', 0, 4);
    const size = chunkHead.readUInt32LE(4);
    const bodyStart = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || bodyStart + size > fileSize) throw new WavFormatError('fmt chunk is too short or cut off');
      fmtChunk = Buffer.alloc(8 + size);
      await file.read(fmtChunk, 0, 8 + size, pos);
    } else if (id === 'data') {
      if (!fmtChunk) throw new WavFormatError('data chunk comes before the fmt chunk');
      const formatTag = fmtChunk.readUInt16LE(8);
      const channels = fmtChunk.readUInt16LE(10);
      const sampleRate = fmtChunk.readUInt32LE(12);
      const blockAlign = fmtChunk.readUInt16LE(20);
      const bitsPerSample = fmtChunk.readUInt16LE(22);
      if (channels === 0 || sampleRate === 0 || blockAlign === 0) {
        throw new WavFormatError(
          `invalid fmt chunk (channels ${channels}, sample rate ${sampleRate}, block align ${blockAlign})`,
        );
      }
      // Streaming writers leave 0 or 0xFFFFFFFF when they cannot seek back; recorders that crash
      // leave a size past the end. Either way the samples that are there are what counts.
      const available = fileSize - bodyStart;
      const declared = size === 0 || size === 0xffffffff ? available : size;
      const usable = Math.min(declared, available);
      const frames = Math.floor(usable / blockAlign);
      return {
        fmtChunk,
        formatTag,
        channels,
        sampleRate,
        blockAlign,
        bitsPerSample,
        dataOffset: bodyStart,
        dataBytes: frames * blockAlign,
        frames,
        truncated: declared > available,
      };
    }
    // RIFF chunks are padded to an even size.
    pos = bodyStart + size + (size % 2);
  }
  throw new WavFormatError(fmtChunk ? 'no data chunk' : 'no fmt chunk');
}

/** Whether the samples can be cut on any frame boundary (PCM, float, A-law/µ-law, extensible). */
export function isSplittableWav(layout: WavLayout): boolean {
  return SPLITTABLE_FORMAT_TAGS.has(layout.formatTag);
}

/** A minimal valid WAV header (RIFF, the original fmt chunk, data chunk header) for `dataBytes`. */
export function wavHeader(fmtChunk: Buffer, dataBytes: number): Buffer {
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(4 + fmtChunk.length + 8 + dataBytes + (dataBytes % 2), 4);
  riff.write('WAVE', 8, 'ascii');
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0, 'ascii');
  dataHead.writeUInt32LE(dataBytes, 4);
  return Buffer.concat([riff, fmtChunk, dataHead]);
}
