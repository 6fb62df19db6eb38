/**
 * The LLM extractor: one Messages API call per email through the official SDK, structured JSON
 * output (validated again with zod on arrival), cost from the usage the API reports.
 */
import Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import {
  type HttpRetryPolicy,
  providerExcerpt,
  type RetryInfo,
  RetryLaterError,
  retryAfterMs,
  withRetry,
} from '@fleet/runtime';
import {
  type EmailForExtraction,
  type Extraction,
  type Extractor,
  type Insight,
  insightSchema,
  type TokenUsage,
} from './insight.ts';
import { costOf, type ModelPrice } from './pricing.ts';
import { renderEmail, SYSTEM_PROMPT } from './prompt.ts';

export interface AnthropicExtractorOptions {
  apiKey: string;
  /** e.g. https://api.anthropic.com, or a gateway / the test stub. */
  baseUrl: string;
  model: string;
  price: ModelPrice;
  maxOutputTokens: number;
  timeoutMs: number;
  /** Retries of one call; a server-requested wait over `maxInlineWaitMs` ends the run's use of the API. */
  retry: HttpRetryPolicy;
  /** Ask the API for schema-constrained output (models without structured outputs: false). */
  structuredOutput: boolean;
  /** Called before each backoff wait (for logs). */
  onRetry?: (info: RetryInfo) => void;
}

/** The email could not be turned into an insight; the run goes on with the next one. */
export class ExtractionFailedError extends Error {
  override name = 'ExtractionFailedError';
  constructor(
    message: string,
    /** Tokens billed for the failed attempt (a malformed answer still costs). */
    readonly usage: TokenUsage,
    readonly costUsd: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The provider cannot serve this run (overloaded past the retry budget, bad key, unknown model):
 * further calls would fail the same way, so the run stops calling it.
 */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Statuses worth retrying: rate limited, overloaded, and transient server errors. */
const TRANSIENT = new Set([408, 429, 500, 502, 503, 504, 529]);
/** Statuses that mean every further call fails too. */
const FATAL_FOR_RUN = new Set([401, 403, 404]);

// Characters per token is about 4 for English; 3 keeps the budget estimate on the safe side.
const CHARS_PER_TOKEN_LOW = 3;

export function createAnthropicExtractor(opts: AnthropicExtractorOptions): Extractor {
  const client = new Anthropic({
    apiKey: opts.apiKey,
    baseURL: opts.baseUrl,
    timeout: opts.timeoutMs,
    // Retries are ours: bounded, logged, and cut short by the job's AbortSignal.
    maxRetries: 0,
  });
  const outputFormat = zodOutputFormat(insightSchema);
  const formatChars = JSON.stringify(outputFormat.schema).length;

  async function send(email: EmailForExtraction, signal: AbortSignal): Promise<Anthropic.Message> {
    return client.messages.create(
      {
        model: opts.model,
        max_tokens: opts.maxOutputTokens,
        // The instructions are identical for every email: cache them when long enough.
        system: [{ type: 'text', text: SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: renderEmail(email) }],
        ...(opts.structuredOutput
          ? { output_config: { format: { type: 'json_schema' as const, schema: outputFormat.schema } } }
          : {}),
      },
      { signal },
    );
  }

  async function call(email: EmailForExtraction, signal: AbortSignal): Promise<Anthropic.Message> {
    let tries = 0;
    try {
      return await withRetry(
        () => {
          tries++;
          return send(email, signal);
        },
        {
          policy: opts.retry,
          what: 'Anthropic API',
          signal,
          transient: (err) => {
            if (!(err instanceof Anthropic.APIError)) return null;
            const status = err.status;
            const transient =
              status === undefined ? err instanceof Anthropic.APIConnectionError : TRANSIENT.has(status);
            if (!transient) return null;
            const after = retryAfterMs(err.headers);
            return { status, label: `returned ${status}`, ...(after === undefined ? {} : { retryAfterMs: after }) };
          },
          ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
        },
      );
    } catch (caught) {
      if (signal.aborted) throw signal.reason;
      // A wait too long to sleep in the job: the remaining emails wait for the next run instead.
      const later = caught instanceof RetryLaterError;
      const err = later ? caught.cause : caught;
      if (!(err instanceof Anthropic.APIError)) throw caught;
      const status = err.status;
      // The SDK's message carries the answer's body, which may echo what was sent.
      const detail = providerExcerpt(err.message, { sent: [opts.apiKey] });
      const transient = status === undefined ? err instanceof Anthropic.APIConnectionError : TRANSIENT.has(status);
      if (later || transient) {
        const what = `Anthropic API ${status === undefined ? 'unreachable' : `returned ${status}`}`;
        const why = later
          ? `${what} and asks to wait ${Math.ceil(caught.delayMs / 1000)} s (over INTELLIGENCE_RETRY_MAX_MS)`
          : `${what} after ${tries} tries`;
        throw new ProviderUnavailableError(`${why}: ${detail}`, status, { cause: err });
      }
      if (status !== undefined && FATAL_FOR_RUN.has(status)) {
        const hint =
          status === 404
            ? `check INTELLIGENCE_MODEL (${opts.model})`
            : 'check ANTHROPIC_API_KEY, or unset it to use the heuristic extractor';
        throw new ProviderUnavailableError(`Anthropic API returned ${status}: ${detail}; ${hint}`, status, {
          cause: err,
        });
      }
      // 400/413/422: something about this email; nothing was billed.
      throw new ExtractionFailedError(
        `Anthropic API rejected the request (${status}): ${detail}`,
        usageOf(undefined),
        0,
        {
          cause: err,
        },
      );
    }
  }

  return {
    kind: 'anthropic',
    model: opts.model,
    estimateMaxCostUsd(email) {
      const chars = SYSTEM_PROMPT.length + formatChars + renderEmail(email).length;
      const inputTokens = Math.ceil(chars / CHARS_PER_TOKEN_LOW);
      return costOf(opts.price, { input: inputTokens, output: opts.maxOutputTokens, cacheRead: 0, cacheWrite: 0 });
    },
    async extract(email, signal): Promise<Extraction> {
      const message = await call(email, signal);
      const usage = usageOf(message.usage);
      const costUsd = costOf(opts.price, usage);
      const insight = parseInsight(message, usage, costUsd);
      return { insight, extractor: 'anthropic', model: message.model || opts.model, usage, costUsd };
    },
  };
}

function usageOf(u: Partial<Anthropic.Usage> | undefined): TokenUsage {
  return {
    input: u?.input_tokens ?? 0,
    output: u?.output_tokens ?? 0,
    cacheRead: u?.cache_read_input_tokens ?? 0,
    cacheWrite: u?.cache_creation_input_tokens ?? 0,
  };
}

/** The message's text as a validated insight, or ExtractionFailedError saying what was wrong. */
function parseInsight(message: Anthropic.Message, usage: TokenUsage, costUsd: number): Insight {
  const fail = (why: string) => new ExtractionFailedError(`malformed model output: ${why}`, usage, costUsd);
  if (message.stop_reason === 'max_tokens')
    throw fail('the answer was cut off at max_tokens (raise INTELLIGENCE_MAX_OUTPUT_TOKENS)');
  if (message.stop_reason === 'refusal') throw fail('the model refused to answer');
  const text = message.content
    .filter((b): b is Anthropic.TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('')
    .trim();
  if (text === '') throw fail('no text in the response');
  // Without schema-constrained output a model may still wrap the JSON in a code fence.
  const json = text.replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '');
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw fail(`not JSON (${(err as Error).message})`);
  }
  const parsed = insightSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'} ${i.message}`)
      .join('; ');
    throw fail(`does not match the insight schema: ${issues}`);
  }
  const insight = parsed.data;
  // The main intent is always among the intents, once.
  return { ...insight, intents: [...new Set([insight.intent, ...insight.intents])] };
}
