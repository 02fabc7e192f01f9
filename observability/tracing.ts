/**
 * Traces (OpenTelemetry): one trace follows a request from the server's HTTP span (@fastify/otel)
 * through the Temporal client, the workflow and its activities (@temporalio/interceptors-
 * opentelemetry, which carries the context in Temporal's headers). Exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; off otherwise, when
 * every span is a no-op. The standard OTEL_* variables (headers, service name, sampler) apply.
 */
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Service } from './log.js';

/**
 * The tracing of one process: where spans go (workflow spans are handed to the same processor by
 * the worker). Off, it has neither: OpenTelemetry's SDK is loaded only by a process that traces
 * (its modules are a third of a second and 15 MiB of every process's start).
 */
export type Tracing =
  | { readonly enabled: false; shutdown(): Promise<void> }
  | {
      readonly enabled: true;
      readonly resource: Resource;
      readonly processor: SpanProcessor;
      /** Sends the spans still buffered, then stops. */
      shutdown(): Promise<void>;
    };

let installed: Tracing | undefined;

/** Whether this process traces (startTracing found an exporter, or was given a processor). */
export const tracingEnabled = (): boolean => installed?.enabled ?? false;

/**
 * Starts tracing for this process, once: with `processor` (tests hand in an in-memory exporter's),
 * or an OTLP exporter when the environment names an endpoint; otherwise tracing stays off. Later
 * calls answer the tracing already started.
 */
export async function startTracing(service: Service, options: { processor?: SpanProcessor; env?: NodeJS.ProcessEnv } = {}): Promise<Tracing> {
  if (installed) return installed;
  const env = options.env ?? process.env;
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!options.processor && !exporting) return { enabled: false, shutdown: async () => undefined };
  const [{ Resource }, { BatchSpanProcessor }, { NodeTracerProvider }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME || service });
  const processor = options.processor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The global provider, the context manager (AsyncLocalStorage) and the W3C trace-context propagator.
  provider.register();
  installed = { enabled: true, resource, processor, shutdown: () => provider.shutdown() };
  return installed;
}
