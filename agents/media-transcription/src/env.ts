import { nonNegativeNumber, positiveInt } from '@fleet/config';
import { allowlistSetting, isPrivateNetworkHost } from '@fleet/safe-fetch';
import { z } from 'zod';

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an http(s) URL' });

/** The agent's environment variables (parsed by the runtime together with its own). */
export const mediaTranscriptionEnv = {
  // Transcription provider (OpenAI, Groq, or a self-hosted Whisper server speaking the same API)
  /** Base URL including the version, e.g. https://api.openai.com/v1 or https://api.groq.com/openai/v1 */
  TRANSCRIPTION_BASE_URL: httpUrl.default('https://api.openai.com/v1'),
  /** Bearer token; required for a public API, optional for a self-hosted server on a private address. */
  TRANSCRIPTION_API_KEY: z.string().min(1, 'must not be empty when set').optional(),
  TRANSCRIPTION_MODEL: z.string().min(1, 'must not be empty').default('whisper-1'),
  /** The provider's upload limit; larger files are split (WAV) or rejected. OpenAI: 25 MB. */
  TRANSCRIPTION_MAX_UPLOAD_BYTES: positiveInt.default(25_000_000),
  /** Time allowed for one upload + transcription request. */
  TRANSCRIPTION_TIMEOUT_MS: positiveInt.default(15 * 60_000),
  /** Price per audio minute for cost_estimate_usd; default the public Whisper API price. */
  TRANSCRIPTION_PRICE_PER_MINUTE_USD: nonNegativeNumber.default(0.006),

  // Media sources
  /** Directory local media paths must live in (a shared volume); unset = local paths refused. */
  MEDIA_ROOT: z.string().min(1, 'must not be empty when set').optional(),
  /** Largest media file accepted, local or downloaded. */
  MEDIA_MAX_BYTES: positiveInt.default(500 * 1024 * 1024),
  /** Longest media accepted, in seconds (default 4 hours). */
  MEDIA_MAX_DURATION_SECONDS: positiveInt.default(4 * 3600),
  /** Time allowed to download an http(s) source. */
  MEDIA_DOWNLOAD_TIMEOUT_MS: positiveInt.default(10 * 60_000),
  /**
   * Comma-separated host names, addresses and CIDRs (`media.internal,10.20.0.0/16`) that http(s)
   * sources may reach. Unset: any host whose every address is public; loopback, private,
   * link-local (cloud metadata), CGNAT, multicast and other special-purpose addresses are refused.
   * Set: only what it names, whatever their addresses (redirects included).
   */
  MEDIA_ALLOWED_HOSTS: allowlistSetting.optional(),
  /** Where downloads and cut pieces are kept while they are processed (default: the OS temp dir). */
  MEDIA_TMP_DIR: z.string().min(1).optional(),

  // Cutting media over the upload limit (anything but PCM WAV needs ffmpeg)
  /** The ffmpeg executable: a name looked up on PATH or an absolute path; empty = no ffmpeg. */
  FFMPEG_PATH: z.string().default('ffmpeg'),
  /** One ffmpeg run (copying out or cutting the audio) is killed after this long. */
  FFMPEG_TIMEOUT_MS: positiveInt.default(10 * 60_000),
};

export type MediaTranscriptionEnv = z.output<z.ZodObject<typeof mediaTranscriptionEnv>>;

/**
 * Why the transcription provider may not be used, or null when it may: media is never uploaded
 * to a public API without that API's key. The agent still starts (and says so in its log); its
 * jobs fail permanently with this message until the key is set.
 */
export function transcriptionProviderProblem(env: MediaTranscriptionEnv): string | null {
  if (env.TRANSCRIPTION_API_KEY) return null;
  if (isPrivateNetworkHost(new URL(env.TRANSCRIPTION_BASE_URL).hostname)) return null;
  return (
    `transcription provider not configured: TRANSCRIPTION_BASE_URL ${env.TRANSCRIPTION_BASE_URL} is a public API ` +
    'and TRANSCRIPTION_API_KEY is not set; set the key, or point TRANSCRIPTION_BASE_URL at a self-hosted server'
  );
}
