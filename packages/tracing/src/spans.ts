import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/** The instrumentation scope of every span the fleet's own code starts. */
export const TRACER_NAME = '@fleet';

/**
 * Runs `fn` inside a new active span and ends it when `fn` settles, recording a thrown error.
 * With no tracer provider registered (tracing off) the API's no-op tracer makes this a plain call
 * with one small allocation.
 */
export function withSpan<T>(
  name: string,
  options: {
    kind?: SpanKind;
    attributes?: Attributes;
    parent?: Context;
    /** Errors that are control flow (BullMQ's DelayedError), not failures of the span. */
    expected?: (error: unknown) => boolean;
  },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      if (!options.expected?.(error)) recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks `span` failed with `error`. */
export function recordError(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * The context an incoming request carries (W3C `traceparent`/`tracestate` headers), so an HTTP
 * call from a traced service continues its caller's trace.
 */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers);
}

export { SpanKind };
