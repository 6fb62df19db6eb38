import { BlockList, isIP } from 'node:net';
import { nonNegativeNumber, positiveInt } from '@fleet/config';
import { parseAllowlist } from '@fleet/safe-fetch';
import { z } from 'zod';

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an http(s) URL' });

/** Comma-separated host names, addresses and CIDRs, checked at start. */
const allowlist = z.string().transform((v, ctx) => {
  try {
    return parseAllowlist(v.split(','));
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

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
  MEDIA_ALLOWED_HOSTS: allowlist.optional(),
  /** Where downloads and cut pieces are kept while they are processed (default: the OS temp dir). */
  MEDIA_TMP_DIR: z.string().min(1).optional(),

  // Cutting media over the upload limit (anything but PCM WAV needs ffmpeg)
  /** The ffmpeg executable: a name looked up on PATH or an absolute path; empty = no ffmpeg. */
  FFMPEG_PATH: z.string().default('ffmpeg'),
  /** One ffmpeg run (copying out or cutting the audio) is killed after this long. */
  FFMPEG_TIMEOUT_MS: positiveInt.default(10 * 60_000),
};

export type MediaTranscriptionEnv = z.output<z.ZodObject<typeof mediaTranscriptionEnv>>;

/** Loopback, private, link-local and unique-local ranges: where a self-hosted server lives. */
const PRIVATE_RANGES = new BlockList();
for (const [net, bits] of [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
] as const)
  PRIVATE_RANGES.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  PRIVATE_RANGES.addSubnet(net, bits, 'ipv6');

/**
 * Whether the configured provider host is on the operator's own network: a private address, a
 * single-label name (a compose service such as `whisper`) or a local-only domain. Anything else
 * is treated as a public API.
 */
export function isPrivateProviderHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(host);
  if (family) return PRIVATE_RANGES.check(host, family === 4 ? 'ipv4' : 'ipv6');
  if (!host.includes('.')) return true;
  return /\.(localhost|local|internal|lan|home\.arpa|svc|cluster\.local)$/.test(host);
}

/**
 * Why the transcription provider may not be used, or null when it may: media is never uploaded
 * to a public API without that API's key. The agent still starts (and says so in its log); its
 * jobs fail permanently with this message until the key is set.
 */
export function transcriptionProviderProblem(env: MediaTranscriptionEnv): string | null {
  if (env.TRANSCRIPTION_API_KEY) return null;
  if (isPrivateProviderHost(new URL(env.TRANSCRIPTION_BASE_URL).hostname)) return null;
  return (
    `transcription provider not configured: TRANSCRIPTION_BASE_URL ${env.TRANSCRIPTION_BASE_URL} is a public API ` +
    'and TRANSCRIPTION_API_KEY is not set; set the key, or point TRANSCRIPTION_BASE_URL at a self-hosted server'
  );
}
