/**
 * One error handler for the API and the pages (and the JSON body parser whose refusals it names):
 * what went wrong, said as the caller can use it.
 * - A body that is no readable JSON (or form), or that carries `__proto__`/`constructor.prototype`
 *   keys: 400 with a problem naming the body.
 * - A dependency that cannot be reached (PostgreSQL, Temporal): 503 with `Retry-After`, and no
 *   address, SQL or stack in the answer.
 * - Anything else: 500, logged with the request's id, which the answer gives.
 * The API answers JSON; the pages answer a page, never raw JSON.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { renderPage } from './page-renderer.js';
import { apiPrefix } from './api.js';

/** Seconds a caller is asked to wait while a dependency is down. */
export const retryAfterSeconds = 5;

/** Node's and gRPC's ways of saying that a server could not be reached, and PostgreSQL's (class 08, shut down, too many connections). */
const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/** True when `error` (or one of its causes) says that PostgreSQL or Temporal cannot be reached now. */
export function isUnreachable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth += 1) {
    const { code } = cause as { code?: unknown };
    if (typeof code === 'string' && (unreachableCodes.has(code) || code.startsWith('08'))) return true;
    // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), as the Temporal client reports them.
    if (typeof code === 'number' && (code === 14 || code === 4)) return true;
    if (/Timeout acquiring a connection|Connection terminated|connect ECONNREFUSED/.test(cause.message)) return true;
    if (cause instanceof AggregateError && cause.errors.some(isUnreachable)) return true;
  }
  return false;
}

interface Answer {
  status: number;
  /** For the API: the JSON body. */
  body: Record<string, unknown>;
  /** For the pages. */
  heading: string;
  message: string;
}

function answerFor(error: FastifyError, request: FastifyRequest): Answer {
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return invalid('is empty: send a JSON object');
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { ...invalid(`has a content type this route does not take (${request.headers['content-type'] ?? 'none'}); send application/json`), status: 415 };
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { ...invalid('is too large'), status: 413 };
  if (error instanceof UnreadableBodyError) return invalid(error.message);
  if (error.code === 'FST_ERR_HANDLER_TIMEOUT') {
    return {
      status: 503,
      body: { error: `Herald could not answer in time: a service it needs is slow or down. Send the same request again in ${retryAfterSeconds} s (a report with the same reportId is stored once)` },
      heading: 'Herald is not available right now',
      message: 'Herald could not answer in time. Try again in a few seconds.',
    };
  }
  if (isUnreachable(error)) {
    return {
      status: 503,
      body: { error: `Herald cannot reach a service it needs right now; try again in ${retryAfterSeconds} s` },
      heading: 'Herald is not available right now',
      message: `A service Herald needs cannot be reached. Nothing was changed; try again in a few seconds.`,
    };
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, body: { error: error.message }, heading: 'Not done', message: error.message };
  }
  return {
    status: 500,
    body: { error: `internal error (request ${request.id})` },
    heading: 'Something went wrong',
    message: `Herald could not answer this request (request ${request.id}). Nothing was changed.`,
  };
}

function invalid(problem: string): Answer {
  return { status: 400, body: { problems: [{ field: '(body)', message: problem }] }, heading: 'Not done', message: `The request's body ${problem}.` };
}

/** A JSON body that cannot be read, or that would poison prototypes: what is wrong with it, in words. */
class UnreadableBodyError extends Error {
  override readonly name = 'UnreadableBodyError';
  readonly statusCode = 400;
}

/**
 * Reads JSON bodies as Fastify does (secure-json-parse, refusing prototype-poisoning keys), but keeps
 * what was wrong, which Fastify's own parser drops.
 */
function parseJsonBody(request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') {
    // Clients that send their content type on every request send it on a GET or DELETE too, with no body.
    return request.method === 'GET' || request.method === 'DELETE' ? done(null, undefined) : done(new UnreadableBodyError('is empty: send a JSON object'));
  }
  try {
    done(null, secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' }));
  } catch (error) {
    const message = (error as Error).message;
    done(new UnreadableBodyError(/prototype/i.test(message) ? 'must not contain the keys "__proto__" or "constructor.prototype"' : `is not valid JSON (${message})`));
  }
}

/** Sets the error handler of `app` (the root, so that every route's errors reach it). */
export function handleErrors(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.setErrorHandler(answerError);
}

/** Answers a request that failed with `error`; plugins with error handlers of their own hand what they do not handle to it. */
export async function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  {
    const answer = answerFor(error, request);
    if (answer.status >= 500) {
      request.log.error({ err: error, status: answer.status }, 'request failed');
      // An answer of failure saves no session: saving it (in the session plugin's onSend) would fail
      // again while the database is down, and that second failure would reach Fastify's bare JSON
      // answer, with the database's address in it.
      Reflect.set(request, 'session', undefined);
    }
    if (answer.status === 503) void reply.header('retry-after', String(retryAfterSeconds));
    void reply.code(answer.status);
    if (request.url.startsWith(apiPrefix) || request.url.startsWith('/codec')) return reply.send(answer.body);
    return reply.type('text/html; charset=utf-8').send(renderPage('problem', { title: answer.heading, heading: answer.heading, message: answer.message, status: answer.status }));
  }
}
