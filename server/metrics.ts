/**
 * The server's Prometheus metrics (prom-client), served at /metrics: requests by route (the
 * route's pattern, never the URL: ids and tokens stay out) and status, their latency, sign-in links
 * emailed, rate-limit refusals, and Node's own process figures. Each server has its own registry,
 * so tests may run several in one process.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  /** A sign-in email went out (one email carries a link for each account of the address). */
  signInEmailSent(): void;
}

export function serverMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'herald_server_' });
  const signInEmails = new Counter({ name: 'herald_sign_in_emails_total', help: 'Sign-in emails sent (each with its links)', registers: [registry] });
  return { registry, signInEmailSent: () => signInEmails.inc() };
}

/** Counts and times every request, and answers GET /metrics. */
export function measureRequests(app: FastifyInstance, metrics: ServerMetrics): void {
  const { registry } = metrics;
  const requests = new Counter({ name: 'herald_http_requests_total', help: 'HTTP requests answered, by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'herald_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const limited = new Counter({ name: 'herald_rate_limit_refusals_total', help: 'Requests refused by a rate limit (429), by route', labelNames: ['route'], registers: [registry] });
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern (/api/v1/errors/:errorKey); requests that match none share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    if (reply.statusCode === 429) limited.inc({ route });
  });
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
