/**
 * Fetches a post's images through safe-fetch (so a post cannot point the fleet at its own
 * network) with a size cap, and tells their type from their first bytes: a file's real type
 * decides what a platform accepts, whatever a server's Content-Type says.
 */
import { PermanentError } from '@fleet/runtime';
import { describeUrl, RefusedUrlError, type SafeFetch } from '@fleet/safe-fetch';
import type { MediaFile } from './provider.ts';

/** The image type its magic bytes say, or null for anything else. */
export function sniffImageType(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  )
    return 'image/webp';
  return null;
}

/** The image could not be used: its URL is refused, gone, or too large. The post cannot be published as it is. */
export class MediaError extends PermanentError {
  override name = 'MediaError';
}

export async function fetchMedia(
  http: SafeFetch,
  media: { url: string; alt_text?: string },
  index: number,
  options: { maxBytes: number; timeoutMs: number; signal: AbortSignal },
): Promise<MediaFile & { sizeBytes: number }> {
  let url: URL;
  try {
    url = new URL(media.url);
  } catch {
    throw new MediaError(`media[${index}].url: not a URL`);
  }
  const where = `media[${index}] (${describeUrl(url)})`;
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  let res: Awaited<ReturnType<SafeFetch['fetch']>>;
  try {
    res = await http.fetch(url, { signal });
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (error instanceof RefusedUrlError) throw new MediaError(`${where}: ${error.message}`);
    throw new Error(`${where}: download failed: ${(error as Error).message}`, { cause: error });
  }
  if (res.status === 404 || res.status === 410) throw new MediaError(`${where}: the server answered ${res.status}`);
  if (res.status !== 200) throw new Error(`${where}: the server answered ${res.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > options.maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new MediaError(`${where}: larger than ${options.maxBytes} bytes, the most any platform accepts`);
    }
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  const declared = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() || 'application/octet-stream';
  const name = decodeURIComponent(url.pathname.split('/').pop() || '') || `image-${index + 1}`;
  return {
    bytes,
    sizeBytes: bytes.byteLength,
    mimeType: sniffImageType(bytes) ?? declared,
    fileName: name,
    altText: media.alt_text,
  };
}
