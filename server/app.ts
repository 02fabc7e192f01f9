/**
 * Herald's HTTP server (Fastify): health and readiness for orchestrators, and the codec endpoint
 * for the Temporal UI. Stateless: run as many as needed behind a load balancer.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Logger } from '../observability/log.js';
import { requestIdOf, requestLogger } from './logging.js';
import { measureRequests, serverMetrics } from './metrics.js';
import cors from '@fastify/cors';
import type { Knex } from 'knex';
import { codecRoutes } from './codec-routes.js';
import { apiPlugin, apiPrefix, jsonSchemaOf, type ApiDeps } from './api.js';
import { productionPolicy, type ChannelAddressPolicy } from '../contracts/channel-url.js';
import { webhookEvents } from '../channels/events.js';
import swagger from '@fastify/swagger';
import { peoplePlugin, type PeopleOptions } from './people.js';
import type { HeraldClient } from '../client/herald-client.js';
import { handleErrors } from './error-handler.js';

export interface ServerOptions {
  db: Knex;
  /** Origins allowed to call the codec endpoint from a browser: the Temporal UI's. */
  codecOrigins: string[];
  /**
   * Herald's client, where the server can reach Temporal: with it the server serves the API, and
   * the pages (with `people`) resolve and assign through it.
   */
  client?: HeraldClient;
  /** How long a request may take before it is answered 503 with Retry-After (HERALD_REQUEST_DEADLINE); default 10 s. */
  requestDeadlineMs?: number;
  /** API requests a minute per token (HERALD_API_RATE). */
  apiRequestsPerMinute?: ApiDeps['requestsPerMinute'];
  /** Starts the digests of new environments (the API creates them). */
  digestsInStep?: ApiDeps['digestsInStep'];
  /** Where channels may post (HERALD_CHANNEL_ALLOW; S43); default: HTTPS to public addresses only. */
  channelPolicy?: ChannelAddressPolicy;
  /** Pages for people: sign-in, sessions, what they are shown; they need `client`. */
  people?: Omit<PeopleOptions, 'db' | 'client' | 'channelPolicy'>;
  /** Behind a proxy that terminates TLS: read the client's address and protocol from X-Forwarded-*. */
  trustProxy?: boolean;
  /** The log (observability/log.ts); none: no log. */
  logger?: Logger;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  // Long enough for the signed tokens of sign-in and unsubscribe links.
  const app = Fastify({
    ...(options.logger ? { loggerInstance: requestLogger(options.logger) } : { logger: false }),
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: 8 * 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: 500 },
    // Every request is answered within the deadline, whatever it waits for (a stopped database, a
    // Temporal update): 503 with Retry-After, and the caller's retry of the same report stores it once.
    handlerTimeout: options.requestDeadlineMs ?? 10_000,
  });
  handleErrors(app);
  // Each request's span, under the caller's trace (traceparent) when it sends one; a no-op while tracing is off.
  await app.register(new FastifyOtelInstrumentation({ instrumentHooks: false, ignorePaths: (route) => route.url === '/metrics' || route.url.startsWith('/health') || route.url === '/readyz' }).plugin());
  const metrics = serverMetrics();
  measureRequests(app, metrics);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // Security headers on every answer; pages may load nothing from elsewhere and run no script
  // (their styles are inline). The email view sets a stricter policy of its own.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // Sign-in and unsubscribe links carry tokens in their paths: no page sends its address on.
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  await app.register(async (codec) => {
    await codec.register(cors, { origin: options.codecOrigins, methods: ['POST'], allowedHeaders: ['content-type', 'x-namespace'], credentials: true });
    codecRoutes(codec);
  });
  if (options.people && !options.client) throw new Error('the pages need the Herald client: they resolve and assign errors through it');
  if (options.client) {
    const channelPolicy = options.channelPolicy ?? productionPolicy;
    const deps: ApiDeps = { db: options.db, client: options.client, requestsPerMinute: options.apiRequestsPerMinute, digestsInStep: options.digestsInStep, channelPolicy };
    await app.register(swagger, {
      hideUntagged: true,
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Herald API', version: '1', description: 'Report errors, successes and connection status of integration flows; read and resolve errors.' },
        components: { securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'an account API token (herald tokens create)' } } },
        security: [{ token: [] }],
        // What signed webhook channels receive (S43), each signed per Standard Webhooks.
        webhooks: Object.fromEntries(
          Object.entries(webhookEvents).map(([name, schema]) => [
            name,
            {
              post: {
                summary: `${name} (version 1), signed with the channel's secret: webhook-id, webhook-timestamp, webhook-signature`,
                requestBody: { content: { 'application/json': { schema: jsonSchemaOf(schema) } } },
                responses: { '2XX': { description: 'taken' }, '429': { description: 'tried again after Retry-After' }, '5XX': { description: 'tried again with backoff' } },
              },
            },
          ]),
        ),
      },
    });
    await app.register((api) => apiPlugin(api, deps), { prefix: apiPrefix });
    app.get('/api/openapi.json', async () => app.swagger());
  }
  if (options.people && options.client) {
    const people = { db: options.db, client: options.client, signInSent: metrics.signInEmailSent, channelPolicy: options.channelPolicy ?? productionPolicy, ...options.people };
    await app.register((pages) => peoplePlugin(pages, people));
  }
  /** Alive: the process answers. */
  app.get('/healthz', async () => ({ status: 'ok' }));
  /** Ready: it can reach its database. */
  app.get('/readyz', async (_request, reply) => {
    try {
      await options.db.raw('select 1');
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unreachable' });
    }
  });
  return app;
}
