import { context, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Telemetry } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { TracingEnv } from './env.ts';

export interface StartTracingOptions {
  /** service.name when OTEL_SERVICE_NAME is not set: the agent's name, or `control-plane`. */
  serviceName: string;
  /** service.instance.id (FLEET_INSTANCE_ID). */
  instanceId?: string;
  /**
   * Span processors to use instead of the ones OTEL_TRACES_EXPORTER names; tracing is then on
   * whatever the variable says. Tests pass a SimpleSpanProcessor over an InMemorySpanExporter.
   */
  spanProcessors?: SpanProcessor[];
}

/** A started (or disabled) tracer provider. */
export interface Tracing {
  /** False when no exporter is configured: nothing is registered and the API stays a no-op. */
  readonly enabled: boolean;
  /**
   * BullMQ's telemetry option for Queue and Worker (bullmq-otel): a job carries its producer's
   * context in its options, and the worker's `process` span continues that trace. Undefined when
   * tracing is off, so BullMQ adds no cost at all.
   */
  readonly bullmq: Telemetry | undefined;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered, stops the provider and unregisters the global API. Idempotent. */
  shutdown(): Promise<void>;
}

const disabled: Tracing = {
  enabled: false,
  bullmq: undefined,
  flush: async () => {},
  shutdown: async () => {},
};

/*
 * The SDK is OpenTelemetry JS 2.x (@opentelemetry/sdk-trace 2.12, API 1.9): its 3.x line needs
 * Node 22.15, and the fleet runs on Node >= 20.19 (package.json engines).
 */

/**
 * Starts tracing as OTEL_TRACES_EXPORTER says: off when it is unset or `none` (the default),
 * OTLP over HTTP for `otlp` (the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _TIMEOUT
 * and their _TRACES_ variants itself), stdout for `console`. When on, the provider, an
 * AsyncLocalStorage context manager and the W3C trace-context propagator are registered as the
 * OpenTelemetry API's globals, which the fleet's spans, BullMQ's and any library's use.
 * One per process: a second enabled start while the first runs is refused.
 */
export function startTracing(env: TracingEnv, options: StartTracingOptions): Tracing {
  const processors = options.spanProcessors ?? exportersOf(env.OTEL_TRACES_EXPORTER ?? []);
  if (processors.length === 0) return disabled;

  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': options.serviceName,
        ...(options.instanceId ? { 'service.instance.id': options.instanceId } : {}),
      }),
    )
    // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME of the process environment win.
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(env.OTEL_SERVICE_NAME ? resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME }) : null);
  const provider = new TracerProvider({ resource, spanProcessors: processors });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!trace.setGlobalTracerProvider(provider)) {
    contextManager.disable();
    void provider.shutdown();
    throw new Error('tracing is already started in this process: shut the first Tracing down before starting another');
  }
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  let stopped: Promise<void> | null = null;
  return {
    enabled: true,
    bullmq: new BullMQOtel({ tracerName: 'bullmq' }),
    flush: () => provider.forceFlush(),
    shutdown() {
      stopped ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      });
      return stopped;
    },
  };
}

function exportersOf(names: readonly string[]): SpanProcessor[] {
  const processors: SpanProcessor[] = [];
  if (names.includes('otlp')) processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  if (names.includes('console')) processors.push(new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  return processors;
}
