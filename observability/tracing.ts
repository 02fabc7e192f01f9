/**
 * Traces (OpenTelemetry): one trace follows a request from the server's HTTP span (@fastify/otel)
 * through the Temporal client, the workflow and its activities (@temporalio/interceptors-
 * opentelemetry, which carries the context in Temporal's headers). Exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; off otherwise, when
 * every span is a no-op. The standard OTEL_* variables (headers, service name, sampler) apply.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Service } from './log.js';

/** The tracing of one process: where spans go (workflow spans are handed to the same processor by the worker). */
export interface Tracing {
  readonly enabled: boolean;
  readonly resource: Resource;
  readonly processor: SpanProcessor;
  /** Sends the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

/** Whether this process traces (startTracing found an exporter, or was given a processor). */
export const tracingEnabled = (): boolean => installed?.enabled ?? false;

/**
 * Starts tracing for this process, once: with `processor` (tests hand in an in-memory exporter's),
 * or an OTLP exporter when the environment names an endpoint; otherwise tracing stays off. Later
 * calls answer the tracing already started.
 */
export function startTracing(service: Service, options: { processor?: SpanProcessor; env?: NodeJS.ProcessEnv } = {}): Tracing {
  if (installed) return installed;
  const env = options.env ?? process.env;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME || service });
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const processor = options.processor ?? (exporting ? new BatchSpanProcessor(new OTLPTraceExporter()) : undefined);
  if (!processor) return { enabled: false, resource, processor: new NoopSpanProcessor(), shutdown: async () => undefined };
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The global provider, the context manager (AsyncLocalStorage) and the W3C trace-context propagator.
  provider.register();
  installed = { enabled: true, resource, processor, shutdown: () => provider.shutdown() };
  return installed;
}
