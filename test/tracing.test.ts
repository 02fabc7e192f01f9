/**
 * One trace follows an error report from the HTTP API through Temporal to the activity that stored
 * it: the server's request span (@fastify/otel), the client's span that starts the workflow, the
 * workflow's own, and the activity's (Temporal's OpenTelemetry interceptors, which carry the
 * context in Temporal's headers and bring the workflow's spans out of its sandbox). Spans go to an
 * in-memory exporter, installed as OTEL_EXPORTER_OTLP_ENDPOINT would install the OTLP one.
 */
import { describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '../observability/tracing.js';
import { startFixture } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import { createTokenStore } from '../stores/token-store.js';

describe('traces', async () => {
  // Installed before the worker, the server and their clients exist, as the processes' main modules do.
  const exporter = new InMemorySpanExporter();
  await startTracing('herald', { processor: new SimpleSpanProcessor(exporter) });
  const { db, herald } = await startFixture();
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue });
  const { token } = await createTokenStore(db).create('acme', 'traced');

  it('follow one API report from its HTTP span to the activity that stored it, under one trace id', async () => {
    const response = await fetch(`${server.url}/api/v1/errors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'prod', flow: 'orders', reportId: 'traced-report', errors: [{ traceKey: 'SO-T1', message: 'Traced' }] }),
    });
    expect(response.status).toBe(200);
    const stored = () => exporter.getFinishedSpans().find((span) => span.name === 'RunActivity:storeErrorReport');
    await expect.poll(stored, { timeout: 20_000 }).toBeDefined();
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    // From the activity up to the root, parent by parent.
    const chain: ReadableSpan[] = [];
    for (let span: ReadableSpan | undefined = stored(); span; span = span.parentSpanId ? byId.get(span.parentSpanId) : undefined) chain.push(span);
    expect(chain.map((span) => span.name)).toEqual([
      'RunActivity:storeErrorReport',
      'StartActivity:storeErrorReport',
      'RunWorkflow:errorReport',
      'UpdateWithStartWorkflow:stored',
      'handler - handler',
      'request',
    ]);
    const [root] = chain.slice(-1);
    expect(root!.parentSpanId).toBeUndefined();
    expect(root!.attributes).toMatchObject({ 'http.route': '/api/v1/errors', 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(new Set(chain.map((span) => span.spanContext().traceId)).size).toBe(1);
    // The workflow's span came out of its sandbox with the worker's resource.
    expect(chain[2]!.resource.attributes['service.name']).toBe('herald');
  });
});
