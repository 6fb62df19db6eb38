import { createWriteStream } from 'node:fs';
import { mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { PermanentError } from '@fleet/runtime';
import {
  type Allowlist,
  createSafeFetch,
  type LookupAll,
  RefusedUrlError,
  // A URL without credentials or query string (signed URLs carry secrets there).
  describeUrl as redactUrl,
} from '@fleet/safe-fetch';
import type { Response } from 'undici';
import { abortError } from './abort.ts';

/** Where media may come from and how much of it is accepted. */
export interface SourceLimits {
  /** Local paths must resolve (symlinks followed) inside this directory; unset = refuse them. */
  mediaRoot?: string;
  maxBytes: number;
  downloadTimeoutMs: number;
  /**
   * MEDIA_ALLOWED_HOSTS: host names and CIDRs opened whatever their address; when it has
   * entries, URLs reach nothing else. Unset: any host whose addresses are all public.
   */
  allowedHosts?: Allowlist;
  /** Resolver for URL hosts (dns.lookup by default); tests inject one. */
  lookup?: LookupAll;
  /** Parent directory of download scratch directories. */
  tmpDir?: string;
}

/** A media file available on local disk for the duration of one job. */
export interface LocalMedia {
  path: string;
  sizeBytes: number;
  /** Deletes the downloaded copy (no-op for files that live in the media root). */
  cleanup(): Promise<void>;
}

const MB = 1024 * 1024;
const fmtBytes = (n: number) => (n >= MB ? `${(n / MB).toFixed(1)} MB` : `${n} bytes`);

/** True for sources that are URLs rather than local paths. */
export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * Resolves a local source inside the media root: relative paths are taken from the root, and the
 * real path (after symlinks) must still be inside it, so `../` or a link cannot reach other files.
 */
export async function resolveLocalPath(source: string, mediaRoot: string | undefined): Promise<string> {
  if (!mediaRoot) {
    throw new PermanentError(`source is a local path but MEDIA_ROOT is not set, so local files are refused: ${source}`);
  }
  if (source.includes('\0')) throw new PermanentError('source contains a NUL byte');
  let path = source;
  if (source.startsWith('file:')) {
    try {
      path = fileURLToPath(source);
    } catch (err) {
      throw new PermanentError(`source ${source} is not a valid file: URL: ${(err as Error).message}`);
    }
  }
  const root = await realpath(mediaRoot).catch((err) => {
    throw new Error(`MEDIA_ROOT ${mediaRoot} is not readable: ${(err as Error).message}`, { cause: err });
  });
  // Checked lexically first for a clear message, then on the real path (MEDIA_ROOT itself may be
  // a symlink, hence both spellings of the root).
  const lexical = resolve(mediaRoot, path);
  if (!isInside(resolve(mediaRoot), lexical) && !isInside(root, lexical)) {
    throw new PermanentError(`source path ${source} is outside MEDIA_ROOT (${mediaRoot})`);
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PermanentError(`source file not found: ${source}`);
    throw err;
  }
  if (!isInside(root, real)) {
    throw new PermanentError(`source path ${source} resolves outside MEDIA_ROOT (${mediaRoot})`);
  }
  return real;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Opens a local file from the media root, checking its size. */
export async function openLocalMedia(source: string, limits: SourceLimits): Promise<LocalMedia> {
  const path = await resolveLocalPath(source, limits.mediaRoot);
  const info = await stat(path);
  if (!info.isFile()) throw new PermanentError(`source ${source} is not a regular file`);
  if (info.size > limits.maxBytes) {
    throw new PermanentError(
      `media file is ${fmtBytes(info.size)}, over the ${fmtBytes(limits.maxBytes)} limit (MEDIA_MAX_BYTES)`,
    );
  }
  return { path, sizeBytes: info.size, cleanup: async () => {} };
}

/**
 * Downloads an http(s) source to a scratch file, refusing it as soon as it is known to be larger
 * than the limit (Content-Length, or the bytes counted so far). The job's signal and the download
 * timeout both abort the transfer. The URL comes from a row someone else wrote, so it is fetched
 * through @fleet/safe-fetch: every hop's addresses are judged before connecting (no loopback,
 * private, link-local or metadata addresses unless MEDIA_ALLOWED_HOSTS opens them).
 */
export async function downloadMedia(
  source: string,
  limits: SourceLimits,
  signal: AbortSignal,
  onProgress?: (bytes: number, total: number | undefined) => void,
): Promise<LocalMedia> {
  const url = new URL(source);
  const timeout = AbortSignal.timeout(limits.downloadTimeoutMs);
  const requestSignal = AbortSignal.any([signal, timeout]);
  const http = createSafeFetch({
    allow: limits.allowedHosts,
    allowVariable: 'MEDIA_ALLOWED_HOSTS',
    lookup: limits.lookup,
  });
  try {
    return await download(http.fetch, url, limits, requestSignal, onProgress).catch((err: unknown) => {
      if (err instanceof PermanentError) throw err;
      if (err instanceof RefusedUrlError) throw new PermanentError(`source ${err.message}`, { cause: err });
      throw downloadError(err, source, limits, signal, timeout);
    });
  } finally {
    await http.close().catch(() => {});
  }
}

async function download(
  fetch: (url: URL, init: { signal: AbortSignal }) => Promise<Response>,
  url: URL,
  limits: SourceLimits,
  requestSignal: AbortSignal,
  onProgress?: (bytes: number, total: number | undefined) => void,
): Promise<LocalMedia> {
  const res = await fetch(url, { signal: requestSignal });
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    const message = `download of ${redactUrl(url)} failed: HTTP ${res.status}`;
    // 4xx (gone, forbidden, not found) will not fix itself; 408/429 and 5xx may.
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      throw new PermanentError(message);
    }
    throw new Error(message);
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(declared) ? declared : undefined;
  if (total !== undefined && total > limits.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new PermanentError(
      `media file is ${fmtBytes(total)}, over the ${fmtBytes(limits.maxBytes)} limit (MEDIA_MAX_BYTES)`,
    );
  }
  if (!res.body) throw new PermanentError(`download of ${redactUrl(url)} returned no body`);

  const dir = await mkdtemp(join(limits.tmpDir ?? tmpdir(), 'media-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, 'source');
  let received = 0;
  let lastReport = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received > limits.maxBytes) {
        done(new PermanentError(`media download exceeded the ${fmtBytes(limits.maxBytes)} limit (MEDIA_MAX_BYTES)`));
        return;
      }
      if (onProgress && received - lastReport >= 4 * MB) {
        lastReport = received;
        onProgress(received, total);
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      counter,
      createWriteStream(path),
      { signal: requestSignal },
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { path, sizeBytes: received, cleanup };
}

/** Keeps the job's own abort as is (the runtime records `cancelled`); names timeouts. */
function downloadError(
  err: unknown,
  source: string,
  limits: SourceLimits,
  jobSignal: AbortSignal,
  timeout: AbortSignal,
): unknown {
  if (jobSignal.aborted) return abortError(jobSignal, err);
  const url = redactUrl(new URL(source));
  if (timeout.aborted) {
    return new Error(`download of ${url} timed out after ${limits.downloadTimeoutMs} ms (MEDIA_DOWNLOAD_TIMEOUT_MS)`, {
      cause: err,
    });
  }
  // fetch says only "fetch failed"; the reason (refused, reset, unknown host) is its cause.
  const cause = (err as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? `${(err as Error).message}: ${cause.message}` : (err as Error).message;
  return new Error(`download of ${url} failed: ${detail}`, { cause: err });
}
