import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, JsonObject } from '@fleet/db';
import { PermanentError, RetryLaterError } from '@fleet/runtime';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { throwIfAborted } from './abort.ts';
import { continuationPrompt, planUploads, stitchTranscripts } from './chunking.ts';
import type { FfmpegSettings } from './ffmpeg.ts';
import { findMediaFile, markFailed, markProcessing, recordProbe, saveTranscript } from './media-repository.ts';
import { downloadMedia, isUrlSource, type LocalMedia, openLocalMedia, type SourceLimits } from './media-source.ts';
import { probeMedia, UnsupportedMediaError } from './probe.ts';
import type { TranscriptionProvider, TranscriptionResult } from './transcription-provider.ts';

export interface TranscribeSettings extends SourceLimits {
  maxDurationSeconds: number;
  maxUploadBytes: number;
  pricePerMinuteUsd: number;
  /** Cuts media over the upload limit that is not PCM WAV; unset = such media is refused. */
  ffmpeg?: FfmpegSettings;
}

export interface TranscribeDeps {
  db: Kysely<Database>;
  log: Logger;
  provider: TranscriptionProvider;
  settings: TranscribeSettings;
}

export interface TranscribeJob {
  workspaceId: string;
  mediaFileId: string;
  language?: string;
  signal: AbortSignal;
  progress(value: JsonObject): Promise<void>;
  /** When true a retryable failure marks the file failed (no attempt follows). */
  finalAttempt: boolean;
}

export interface TranscribeOutcome {
  output: JsonObject;
  costUsd: number;
}

/** minutes × price, to the micro-dollar (the precision of cost_estimate_usd). */
export function transcriptionCostUsd(durationSeconds: number, pricePerMinuteUsd: number): number {
  return Math.round((durationSeconds / 60) * pricePerMinuteUsd * 1e6) / 1e6;
}

/**
 * Transcribes one media file: fetch (local media root or http download), probe, split if needed,
 * transcribe each part, stitch, store, and keep media_files.status in step
 * (processing → transcribed | failed; back to uploaded when cancelled).
 */
export async function transcribeMedia(deps: TranscribeDeps, job: TranscribeJob): Promise<TranscribeOutcome> {
  const { db, log, provider, settings } = deps;
  const file = await findMediaFile(db, job.workspaceId, job.mediaFileId);
  if (!file) {
    throw new PermanentError(`media_file_id ${job.mediaFileId} does not exist in workspace ${job.workspaceId}`);
  }
  await markProcessing(db, file.id);
  const report = (value: JsonObject) => {
    job.progress(value).catch((err) => log.debug({ err }, 'progress report failed'));
  };

  let media: LocalMedia | undefined;
  let workDir: string | undefined;
  try {
    report({ phase: 'fetching', percent: 0 });
    media = isUrlSource(file.source)
      ? await downloadMedia(file.source, settings, job.signal, (bytes, total) =>
          report({ phase: 'downloading', bytes, ...(total ? { total } : {}), percent: 0 }),
        )
      : await openLocalMedia(file.source, settings);

    const probe = await probeMedia(media.path).catch((err) => {
      if (err instanceof UnsupportedMediaError) throw new PermanentError(err.message, { cause: err });
      throw err;
    });
    if (probe.durationSeconds > settings.maxDurationSeconds) {
      throw new PermanentError(
        `media is ${fmtDuration(probe.durationSeconds)} long, over the ${fmtDuration(settings.maxDurationSeconds)} ` +
          'limit (MEDIA_MAX_DURATION_SECONDS)',
      );
    }
    await recordProbe(db, file.id, { sizeBytes: media.sizeBytes, ...probe });
    let cut: Parameters<typeof planUploads>[4];
    if (settings.ffmpeg && media.sizeBytes > settings.maxUploadBytes) {
      // Cut pieces live in the writable scratch directory (MEDIA_TMP_DIR: the root file system
      // of the container is read-only) and go with the job.
      workDir = await mkdtemp(join(settings.tmpDir ?? tmpdir(), 'fleet-cut-'));
      cut = { workDir, ffmpeg: settings.ffmpeg, signal: job.signal };
    }
    const parts = await planUploads(media.path, media.sizeBytes, probe, settings.maxUploadBytes, cut);
    const method = parts[0]?.method ?? 'whole';
    log.info(
      {
        format: probe.format,
        durationSeconds: probe.durationSeconds,
        bytes: media.sizeBytes,
        parts: parts.length,
        method,
      },
      'media probed',
    );

    const results: { startSeconds: number; result: TranscriptionResult }[] = [];
    let doneSeconds = 0;
    for (const part of parts) {
      throwIfAborted(job.signal);
      report({
        phase: 'transcribing',
        part: part.index + 1,
        parts: parts.length,
        percent: Math.floor((doneSeconds / probe.durationSeconds) * 100),
      });
      const previous = results.at(-1)?.result.text;
      const result = await provider.transcribe({
        audio: part.audio,
        fileName: part.fileName,
        language: job.language,
        prompt: previous ? continuationPrompt(previous) : undefined,
        signal: job.signal,
      });
      results.push({ startSeconds: part.startSeconds, result });
      doneSeconds += part.durationSeconds;
      log.debug({ part: part.index + 1, parts: parts.length, segments: result.segments.length }, 'part transcribed');
    }

    const transcript = stitchTranscripts(results);
    const costUsd = transcriptionCostUsd(probe.durationSeconds, settings.pricePerMinuteUsd);
    const transcriptId = await saveTranscript(db, {
      ...transcript,
      workspaceId: job.workspaceId,
      mediaFileId: file.id,
      durationSeconds: probe.durationSeconds,
      model: provider.model,
      chunkCount: parts.length,
      costUsd,
    });
    report({ phase: 'done', percent: 100 });
    return {
      costUsd,
      output: {
        media_file_id: file.id,
        transcript_id: transcriptId,
        format: probe.format,
        duration_seconds: Math.round(probe.durationSeconds * 1000) / 1000,
        size_bytes: media.sizeBytes,
        chunks: parts.length,
        cut: method,
        segments: transcript.segments.length,
        characters: transcript.text.length,
        language: transcript.language,
        model: provider.model,
      },
    };
  } catch (err) {
    await recordFailure(deps, job, file.id, err);
    throw err;
  } finally {
    await media?.cleanup().catch((err) => log.warn({ err }, 'could not delete downloaded media'));
    if (workDir) {
      await rm(workDir, { recursive: true, force: true }).catch((err) =>
        log.warn({ err }, 'could not delete cut pieces'),
      );
    }
  }
}

/** Leaves media_files saying what happened, without hiding the original error if that fails. */
async function recordFailure(deps: TranscribeDeps, job: TranscribeJob, fileId: string, err: unknown): Promise<void> {
  const message = err instanceof Error ? err.message : String(err);
  try {
    if (job.signal.aborted) {
      // Cancelled, or interrupted by a shutdown (then the job runs again elsewhere): either way
      // the file is not broken and may be queued again.
      const reason = typeof job.signal.reason === 'string' ? job.signal.reason : message;
      await markFailed(deps.db, fileId, `transcription interrupted: ${reason}`, 'uploaded');
    } else if (err instanceof PermanentError || job.finalAttempt) {
      await markFailed(deps.db, fileId, message);
    } else {
      // Another attempt follows (RetryLaterError does not even spend one): stay `processing`.
      const when = err instanceof RetryLaterError ? `retrying in ${Math.ceil(err.delayMs / 1000)} s` : 'will retry';
      await deps.db
        .updateTable('media_files')
        .set({ error_message: `${when}: ${message}`.slice(0, 2000) })
        .where('id', '=', fileId)
        .execute();
    }
  } catch (dbErr) {
    deps.log.error({ err: dbErr, cause: message }, 'could not record the media file failure');
  }
}

function fmtDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
