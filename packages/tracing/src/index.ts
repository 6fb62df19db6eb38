export { FleetAttributes } from './attributes.ts';
export { TRACE_EXPORTERS, type TraceExporterName, type TracingEnv, tracingEnv } from './env.ts';
export { contextFromHeaders, recordError, SpanKind, TRACER_NAME, withSpan } from './spans.ts';
export { type StartTracingOptions, startTracing, type Tracing } from './start-tracing.ts';
