/**
 * The server's log (pino, Fastify's own): one JSON line per event, each request's lines under its
 * request id (a caller's `x-request-id`, or one of Herald's), which the answer carries back. What
 * would let a reader in is never written: tokens and cookies live in headers, which are not
 * logged; the tokens of sign-in, unsubscribe and email action links, which live in their URLs, are masked.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Logger } from '../observability/log.js';

/** The path of a URL with the tokens of sign-in, unsubscribe and email action links masked, and no query (it may carry a `next` with one). */
export function loggableUrl(url: string): string {
  const path = url.split('?')[0]!;
  return path.replace(/^\/(sign-in|unsubscribe|act)\/[^/]+/, '/$1/[token]') + (url.includes('?') ? '?[query]' : '');
}

/** The server's logger of requests: Herald's logger, with requests and answers written as above. */
export function requestLogger(logger: Logger): FastifyBaseLogger {
  return logger.child(
    {},
    {
      serializers: {
        req: (request: FastifyRequest) => ({ method: request.method, url: loggableUrl(request.url), remoteAddress: request.ip }),
        res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
      },
    },
  );
}

/** A caller's request id when it is a reasonable one, else a new one. */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}
