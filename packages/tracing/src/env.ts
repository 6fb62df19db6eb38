import { z } from 'zod';

/** Exporters OTEL_TRACES_EXPORTER may name (a comma-separated list, as the specification allows). */
export const TRACE_EXPORTERS = ['none', 'otlp', 'console'] as const;
export type TraceExporterName = (typeof TRACE_EXPORTERS)[number];

/**
 * The OpenTelemetry variables every service declares, so they are validated at start and passed
 * to each container. The OTLP exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout)
 * from the process environment itself; the resource reads OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES the same way.
 */
export const tracingEnv = {
  /** `otlp`: export spans over OTLP/HTTP (JSON); `console`: print them; unset or `none`: tracing off. */
  OTEL_TRACES_EXPORTER: z
    .string()
    .transform((value) => value.split(',').map((name) => name.trim().toLowerCase()))
    .pipe(z.array(z.enum(TRACE_EXPORTERS, { error: `must be ${TRACE_EXPORTERS.join(', ')} or a list of them` })))
    .optional(),
  /** Base URL of the OTLP/HTTP receiver (a collector), e.g. http://otel-collector:4318; spans go to /v1/traces. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://otel-collector:4318' })
    .optional(),
  /** The service.name of the spans; default the service's own name (the agent's, or control-plane). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

export type TracingEnv = z.output<z.ZodObject<typeof tracingEnv>>;
