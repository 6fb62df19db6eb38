import { defineAgent, PermanentError } from '@fleet/runtime';
import { mediaTranscriptionEnv, transcriptionProviderProblem } from './env.ts';
import { transcribeMedia } from './transcribe-media.ts';
import { createOpenAiTranscriber } from './transcription-provider.ts';

/** media_transcription_queue worker: one media file per job, transcribed with timestamps. */
export default defineAgent({
  name: 'media-transcription',
  queue: 'media_transcription_queue',
  // Jobs are minutes of uploading and waiting on the provider, not CPU; a few at once per process.
  concurrency: 2,
  // Held jobs beyond the two running would wait minutes here while another replica may be idle.
  ackWindow: 0,
  env: mediaTranscriptionEnv,
  setup({ env, log }) {
    const providerProblem = transcriptionProviderProblem(env);
    if (providerProblem) log.warn({ baseUrl: env.TRANSCRIPTION_BASE_URL }, providerProblem);
    return {
      providerProblem,
      provider: createOpenAiTranscriber({
        baseUrl: env.TRANSCRIPTION_BASE_URL,
        apiKey: env.TRANSCRIPTION_API_KEY,
        model: env.TRANSCRIPTION_MODEL,
        timeoutMs: env.TRANSCRIPTION_TIMEOUT_MS,
      }),
      settings: {
        mediaRoot: env.MEDIA_ROOT,
        maxBytes: env.MEDIA_MAX_BYTES,
        maxDurationSeconds: env.MEDIA_MAX_DURATION_SECONDS,
        downloadTimeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS,
        allowedHosts: env.MEDIA_ALLOWED_HOSTS,
        tmpDir: env.MEDIA_TMP_DIR,
        maxUploadBytes: env.TRANSCRIPTION_MAX_UPLOAD_BYTES,
        pricePerMinuteUsd: env.TRANSCRIPTION_PRICE_PER_MINUTE_USD,
        ffmpeg: env.FFMPEG_PATH ? { path: env.FFMPEG_PATH, timeoutMs: env.FFMPEG_TIMEOUT_MS } : undefined,
      },
    };
  },
  handlers: {
    async media_transcription(payload, ctx) {
      const { providerProblem, ...deps } = ctx.deps;
      if (providerProblem) throw new PermanentError(providerProblem);
      return transcribeMedia(
        { db: ctx.db, log: ctx.log, ...deps },
        {
          workspaceId: payload.workspace_id,
          mediaFileId: payload.media_file_id,
          language: payload.language,
          signal: ctx.signal,
          progress: (value) => ctx.progress(value),
          // As the runtime counts: failures only (deferrals and stalls do not spend an attempt).
          finalAttempt: ctx.job.attemptsMade + 1 >= (ctx.job.opts.attempts ?? 1),
        },
      );
    },
  },
});
