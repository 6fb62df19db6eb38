import { parseFile } from 'music-metadata';

/** Upload formats OpenAI-compatible transcription endpoints accept (they go by file extension). */
export type UploadFormat = 'wav' | 'mp3' | 'flac' | 'ogg' | 'm4a' | 'webm';

export const MIME_TYPES: Record<UploadFormat, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  webm: 'audio/webm',
};

/** What a media file turned out to be. */
export interface MediaProbe {
  format: UploadFormat;
  mimeType: string;
  /** music-metadata's container name, e.g. 'WAVE', 'MPEG', 'M4A/isom'. */
  container: string;
  codec: string | null;
  durationSeconds: number;
  sampleRate: number | null;
  channels: number | null;
}

/** The file is not usable media: corrupt, unsupported or without a duration. Not worth retrying. */
export class UnsupportedMediaError extends Error {
  override name = 'UnsupportedMediaError';
}

const SUPPORTED = 'WAV, MP3, FLAC, Ogg (Vorbis/Opus), MP4/M4A and WebM';

/** Maps a container name from music-metadata to the upload format, or undefined. */
export function uploadFormatOf(container: string): UploadFormat | undefined {
  const c = container.toLowerCase();
  if (c === 'wave') return 'wav';
  if (c === 'mpeg') return 'mp3';
  if (c === 'flac') return 'flac';
  if (c === 'ogg') return 'ogg';
  if (c === 'ebml/webm') return 'webm';
  // MP4 containers are named after their brands: 'M4A/isom/iso2', 'isom/iso2/avc1/mp41', ...
  if (/(^|\/)(m4a|m4b|mp4[12]?|isom|iso[2-9]|avc1|dash|mp42|qt)(\/|$)/.test(c)) return 'm4a';
  return undefined;
}

/**
 * Reads the container, codec and duration of a local file (headers, plus a frame scan for MP3s
 * without a VBR header). Throws UnsupportedMediaError for anything that cannot be transcribed.
 */
export async function probeMedia(path: string): Promise<MediaProbe> {
  let format: Awaited<ReturnType<typeof parseFile>>['format'];
  try {
    ({ format } = await parseFile(path, { duration: true, skipCovers: true }));
  } catch (err) {
    throw new UnsupportedMediaError(
      `media file is corrupt or not a recognised audio/video format: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!format.container) {
    throw new UnsupportedMediaError(
      `media file is corrupt or not a recognised audio/video format (supported: ${SUPPORTED})`,
    );
  }
  const uploadFormat = uploadFormatOf(format.container);
  if (!uploadFormat) {
    throw new UnsupportedMediaError(
      `unsupported media format ${format.container}${format.codec ? ` (${format.codec})` : ''}; supported: ${SUPPORTED}`,
    );
  }
  if (format.hasAudio === false) {
    throw new UnsupportedMediaError(`media file (${format.container}) has no audio track`);
  }
  const duration = format.duration;
  if (duration === undefined || !Number.isFinite(duration) || duration <= 0) {
    throw new UnsupportedMediaError(
      `media file (${format.container}) has no readable duration: it is empty, cut off or corrupt`,
    );
  }
  return {
    format: uploadFormat,
    mimeType: MIME_TYPES[uploadFormat],
    container: format.container,
    codec: format.codec ?? null,
    durationSeconds: duration,
    sampleRate: format.sampleRate ?? null,
    channels: format.numberOfChannels ?? null,
  };
}
