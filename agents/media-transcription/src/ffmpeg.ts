import { execFile } from 'node:child_process';
import { PermanentError } from '@fleet/runtime';

/** How ffmpeg is run: which binary, and how long one run may take. */
export interface FfmpegSettings {
  /** The ffmpeg executable (FFMPEG_PATH): a name looked up on PATH, or an absolute path. */
  path: string;
  /** A run still going after this long is killed (FFMPEG_TIMEOUT_MS). */
  timeoutMs: number;
}

/** ffmpeg ran and failed; `stderr` holds the end of what it said. */
export class FfmpegError extends Error {
  override name = 'FfmpegError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The last lines of ffmpeg's diagnostics: where it says what went wrong. */
function tail(stderr: string, lines = 3): string {
  return stderr.trim().split(/\r?\n/).slice(-lines).join(' | ');
}

/**
 * Runs ffmpeg with `args` (an argument vector, never a shell line, so file names cannot inject
 * anything) and resolves when it exits 0. The job's signal and the timeout kill it with SIGKILL.
 * A missing binary is a PermanentError naming FFMPEG_PATH; a failed run is an FfmpegError.
 */
export function runFfmpeg(settings: FfmpegSettings, args: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      settings.path,
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args],
      { timeout: settings.timeoutMs, killSignal: 'SIGKILL', signal, maxBuffer: 4 * 1024 * 1024, windowsHide: true },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') {
          return reject(
            new PermanentError(
              `ffmpeg is needed to cut this file but was not found (FFMPEG_PATH=${settings.path}); ` +
                'install it (Debian: apt-get install ffmpeg) or point FFMPEG_PATH at it',
            ),
          );
        }
        if (signal?.aborted) return reject(signal.reason ?? err);
        if (e.killed || e.signal === 'SIGKILL') {
          // Retryable: a loaded machine may be slow; the next attempt may finish in time.
          return reject(new Error(`ffmpeg did not finish within FFMPEG_TIMEOUT_MS (${settings.timeoutMs} ms)`));
        }
        reject(new FfmpegError(`ffmpeg failed (exit ${e.code ?? e.signal}): ${tail(String(stderr))}`, String(stderr)));
      },
    );
  });
}
