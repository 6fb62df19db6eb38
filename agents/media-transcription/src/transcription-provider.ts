import {
  DEFAULT_HTTP_RETRY_POLICY,
  fetchWithRetry,
  type HttpAnswer,
  HttpRequestError,
  type HttpRetryPolicy,
  PermanentError,
  providerExcerpt,
  RetryLaterError,
  TransientAnswerError,
} from '@fleet/runtime';
import { z } from 'zod';
import { abortError } from './abort.ts';

/** One timed piece of a transcript; times in seconds from the start of the media. */
export interface TranscriptSegment {
  id: number;
  start: number;
  end: number;
  text: string;
}

export interface TranscriptionRequest {
  audio: Blob;
  /** The extension tells the provider the format (e.g. 'part-1.wav'). */
  fileName: string;
  /** ISO-639-1 hint. */
  language?: string;
  /** Text the audio continues from (the previous chunk's tail), for consistent spelling and style. */
  prompt?: string;
  signal: AbortSignal;
}

export interface TranscriptionResult {
  text: string;
  language: string | null;
  /** Audio duration as the provider measured it, when it says. */
  durationSeconds: number | null;
  segments: TranscriptSegment[];
}

/** Turns audio into timed text. */
export interface TranscriptionProvider {
  readonly model: string;
  transcribe(request: TranscriptionRequest): Promise<TranscriptionResult>;
}

export interface OpenAiTranscriberOptions {
  /** e.g. https://api.openai.com/v1, https://api.groq.com/openai/v1, http://whisper:8000/v1 */
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Time allowed for one request, upload included. */
  timeoutMs: number;
  /** Short waits (Retry-After, 5xx backoff) are taken in the job; longer ones delay the job. */
  retry?: HttpRetryPolicy;
}

const verboseJson = z.object({
  text: z.string(),
  language: z.string().nullish(),
  duration: z.coerce.number().nullish(),
  segments: z
    .array(
      z.object({
        id: z.number().optional(),
        start: z.coerce.number(),
        end: z.coerce.number(),
        text: z.string(),
      }),
    )
    .nullish(),
});

/**
 * The `POST {baseUrl}/audio/transcriptions` API of OpenAI, spoken also by Groq and self-hosted
 * Whisper servers (faster-whisper-server, whisper.cpp server, LocalAI): multipart upload, verbose
 * JSON back with segment timestamps.
 */
export function createOpenAiTranscriber(options: OpenAiTranscriberOptions): TranscriptionProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`;
  return {
    model: options.model,
    async transcribe(req) {
      const form = new FormData();
      form.append('file', req.audio, req.fileName);
      form.append('model', options.model);
      form.append('response_format', 'verbose_json');
      form.append('timestamp_granularities[]', 'segment');
      if (req.language) form.append('language', req.language);
      if (req.prompt) form.append('prompt', req.prompt);

      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      let res: HttpAnswer;
      try {
        res = await fetchWithRetry(
          endpoint,
          { method: 'POST', headers, body: form },
          {
            policy: options.retry ?? DEFAULT_HTTP_RETRY_POLICY,
            what: 'transcription provider',
            timeoutMs: options.timeoutMs,
            signal: req.signal,
          },
        );
      } catch (err) {
        // The job's own abort propagates unchanged so the runtime records `cancelled`.
        if (req.signal.aborted) throw abortError(req.signal, err);
        if (err instanceof RetryLaterError) throw waitError(err, options.apiKey);
        if (err instanceof HttpRequestError && err.timedOut) {
          throw new Error(`transcription request timed out after ${options.timeoutMs} ms (TRANSCRIPTION_TIMEOUT_MS)`, {
            cause: err,
          });
        }
        const detail =
          err instanceof HttpRequestError && err.cause instanceof Error ? err.cause.message : (err as Error).message;
        throw new Error(`transcription request to ${endpoint} failed: ${detail}`, { cause: err });
      }
      const body = res.text;
      if (res.status >= 400) throw httpError(res, body, options.apiKey);
      let parsed: z.infer<typeof verboseJson>;
      try {
        parsed = verboseJson.parse(JSON.parse(body));
      } catch (err) {
        // A proxy's HTML error page or a server that ignored response_format; may be transient.
        throw new Error(`transcription provider returned an unexpected response: ${snippet(body, options.apiKey)}`, {
          cause: err,
        });
      }
      return {
        text: parsed.text.trim(),
        language: parsed.language ?? null,
        durationSeconds: parsed.duration ?? null,
        segments: (parsed.segments ?? []).map((s, i) => ({ id: s.id ?? i, start: s.start, end: s.end, text: s.text })),
      };
    },
  };
}

/** The policy's RetryLaterError, told in the provider's words (its message, never the key). */
function waitError(err: RetryLaterError, apiKey: string | undefined): RetryLaterError {
  const answer = err.cause instanceof TransientAnswerError ? err.cause.answer : null;
  if (!answer) return err;
  const what = answer.status === 429 ? 'rate limit' : 'busy';
  const detail = providerMessage(answer.text, apiKey);
  return new RetryLaterError(`transcription provider ${what} (HTTP ${answer.status}): ${detail}`, err.delayMs, {
    cause: err,
  });
}

function httpError(res: HttpAnswer, body: string, apiKey: string | undefined): Error {
  const detail = providerMessage(body, apiKey);
  const status = res.status;
  if (status === 401 || status === 403) {
    return new PermanentError(
      `transcription provider refused the credentials (HTTP ${status}): ${detail}; check TRANSCRIPTION_API_KEY`,
    );
  }
  if (status === 404) {
    return new PermanentError(
      `transcription endpoint or model not found (HTTP 404): ${detail}; check TRANSCRIPTION_BASE_URL and TRANSCRIPTION_MODEL`,
    );
  }
  if (status === 413) {
    return new PermanentError(
      `transcription provider rejected the upload as too large (HTTP 413): ${detail}; lower TRANSCRIPTION_MAX_UPLOAD_BYTES`,
    );
  }
  if (status >= 400 && status < 500 && status !== 408) {
    return new PermanentError(`transcription provider rejected the file (HTTP ${status}): ${detail}`);
  }
  return new Error(`transcription provider error (HTTP ${status}): ${detail}`);
}

/**
 * The `error.message` of an OpenAI-style error body, else the start of the body; never the key
 * or other credentials a server may echo (redacted, and never cut in the middle of one).
 */
function providerMessage(body: string, apiKey: string | undefined): string {
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; detail?: unknown };
    if (typeof json.error === 'string') return snippet(json.error, apiKey);
    if (json.error && typeof json.error.message === 'string') return snippet(json.error.message, apiKey);
    if (typeof json.detail === 'string') return snippet(json.detail, apiKey);
  } catch {
    // not JSON
  }
  return snippet(body, apiKey) || 'no details';
}

function snippet(body: string, apiKey: string | undefined): string {
  return providerExcerpt(body, { sent: [apiKey] });
}
