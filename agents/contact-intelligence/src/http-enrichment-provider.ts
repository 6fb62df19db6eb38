/**
 * An enrichment provider speaking the Clearbit Combined API wire format, which several person
 * data services and self-hosted proxies also implement:
 *
 *   GET {baseUrl}/v2/combined/find?email=<address>    Authorization: Bearer <key>
 *   200 { person: { name: { givenName, familyName }, employment: { title, name, domain }, phone? },
 *         company: { name, domain, phone? } | null }
 *   202 accepted, result not ready (lookup is asynchronous) · 404 no match · 422 invalid address
 *   401/403 bad key · 402 quota exhausted · 429 rate limited · 5xx provider trouble
 */
import {
  DEFAULT_HTTP_RETRY_POLICY,
  fetchWithRetry,
  type HttpAnswer,
  HttpRequestError,
  type HttpRetryPolicy,
  RetryLaterError,
  TransientAnswerError,
} from '@fleet/runtime';
import {
  type EnrichmentProvider,
  type LookupResult,
  ProviderError,
  type ProviderPerson,
} from './enrichment-provider.ts';

export interface HttpEnrichmentProviderOptions {
  baseUrl: string;
  apiKey: string;
  /** Per request, including reading the body. */
  timeoutMs?: number;
  costPerMatchUsd?: number;
  /** Injected for tests or proxies; global fetch by default. */
  fetch?: typeof fetch;
  /** Short waits (Retry-After, 5xx backoff) are taken in the lookup; a longer one fails the lookup. */
  retry?: HttpRetryPolicy;
}

interface CombinedResponse {
  person?: {
    name?: { givenName?: string | null; familyName?: string | null } | null;
    employment?: { title?: string | null; name?: string | null; domain?: string | null } | null;
    phone?: string | null;
  } | null;
  company?: { name?: string | null; domain?: string | null; phone?: string | null } | null;
}

export function createHttpEnrichmentProvider(options: HttpEnrichmentProviderOptions): EnrichmentProvider {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: 'http',
    costPerMatchUsd: options.costPerMatchUsd ?? 0,
    async lookup(email: string, signal?: AbortSignal): Promise<LookupResult> {
      const url = `${base}/v2/combined/find?email=${encodeURIComponent(email)}`;
      let res: HttpAnswer;
      try {
        res = await fetchWithRetry(
          url,
          { headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' } },
          {
            policy: options.retry ?? DEFAULT_HTTP_RETRY_POLICY,
            what: 'provider',
            timeoutMs,
            ...(options.fetch ? { fetch: options.fetch } : {}),
            ...(signal ? { signal } : {}),
          },
        );
      } catch (error) {
        if (signal?.aborted) throw error;
        // One contact's lookup in a batch: a long wait fails this lookup, not the whole job.
        if (error instanceof RetryLaterError && error.cause instanceof TransientAnswerError) {
          throw errorFor(error.cause.answer);
        }
        if (error instanceof HttpRequestError && error.timedOut) {
          throw new ProviderError(`provider timed out after ${timeoutMs} ms`);
        }
        const cause = error instanceof HttpRequestError && error.cause instanceof Error ? error.cause : error;
        throw new ProviderError(`provider unreachable: ${cause instanceof Error ? cause.message : String(cause)}`);
      }
      switch (res.status) {
        case 200:
          return { status: 'found', person: toPerson(readJson(res)) };
        case 202:
          return { status: 'pending' };
        case 404:
          return { status: 'not_found' };
        default:
          throw errorFor(res);
      }
    },
  };
}

function readJson(res: HttpAnswer): CombinedResponse {
  try {
    const body = JSON.parse(res.text) as unknown;
    if (body === null || typeof body !== 'object') throw new Error('not an object');
    return body as CombinedResponse;
  } catch {
    throw new ProviderError('provider returned a malformed response body');
  }
}

function errorFor(res: HttpAnswer): ProviderError {
  if (res.status === 401 || res.status === 403) {
    return new ProviderError(`provider rejected the API key (HTTP ${res.status}); check ENRICHMENT_API_KEY`, true);
  }
  if (res.status === 402) return new ProviderError('provider quota exhausted (HTTP 402)', true);
  if (res.status === 422) return new ProviderError('provider rejected the address as invalid (HTTP 422)');
  if (res.status === 429) {
    const after = res.headers.get('retry-after');
    return new ProviderError(`provider rate limited the lookup (HTTP 429${after ? `, retry after ${after}s` : ''})`);
  }
  return new ProviderError(`provider error (HTTP ${res.status})`);
}

function toPerson(body: CombinedResponse): ProviderPerson {
  const p = body.person ?? null;
  const c = body.company ?? null;
  return {
    firstName: str(p?.name?.givenName),
    lastName: str(p?.name?.familyName),
    jobTitle: str(p?.employment?.title),
    company: str(c?.name) ?? str(p?.employment?.name),
    companyDomain: str(c?.domain) ?? str(p?.employment?.domain),
    phone: str(p?.phone),
  };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}
