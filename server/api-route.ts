/**
 * What one route of the HTTP API is (api.ts serves them): its schemas, which validate it and
 * document it (OpenAPI), the scope a token needs for it, and what it does; and the answers a
 * route gives other than 200.
 */
import type { Knex } from 'knex';
import { z } from 'zod';
import type { HeraldClient } from '../client/herald-client.js';
import type { TokenScope } from '../stores/token-store.js';
import type { ChannelAddressPolicy } from '../contracts/channel-url.js';

export const apiPrefix = '/api/v1';

export interface ApiDeps {
  db: Knex;
  client: HeraldClient;
  /** Requests per minute per token (or per client address, for requests without a token). */
  requestsPerMinute?: number;
  /** Starts the digests of environments never made sure of and ends those of removed ones: called once a call created, brought back or removed environments. */
  digestsInStep?: () => Promise<unknown>;
  /** Where channels may post (HERALD_CHANNEL_ALLOW; S43). */
  channelPolicy: ChannelAddressPolicy;
}

export interface ApiCall<B, Q, P> {
  /** The account the call acts in: its token's, or the one an installation's token names. */
  account: string;
  /** Who calls, as changes are recorded: "token 12 (billing platform)". */
  actor: string;
  body: B;
  query: Q;
  params: P;
  /** The request's If-Match, for routes that change a versioned entity. */
  ifMatch?: string;
}

/** One route of the API. */
export interface ApiRoute<B = unknown, Q = unknown, P = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below {@link apiPrefix}, in Fastify's form (`/errors/:id`). */
  url: string;
  summary: string;
  /** What a token must be allowed to call it; `installation`: only an installation's token. */
  scope: TokenScope | 'installation';
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  /** What a success answers, for the document. */
  answers: string;
  /** A deadline of its own, for a route whose work grows with what it is given (a whole catalog): longer than the server's (HERALD_REQUEST_DEADLINE). */
  deadlineMs?: number;
  handle(call: ApiCall<B, Q, P>, deps: ApiDeps): Promise<unknown>;
}

export const route = <B, Q, P>(definition: ApiRoute<B, Q, P>) => definition as ApiRoute;

/** An answer with a version (ETag) and a status of its own. */
export class Versioned {
  constructor(
    readonly body: unknown,
    readonly version: string,
    readonly status = 200,
  ) {}
}

/** Anything the caller's account cannot see: answered 404, whether it exists elsewhere or not. */
export class NotFound extends Error {}

/** The query of a list read newest first, a page at a time: `before` the last id seen, at most `limit` (100 unless said). */
export const newestFirstQuery = z.strictObject({ before: z.coerce.number().int().positive().optional(), limit: z.coerce.number().int().min(1).max(500).optional() });
/** How many a page holds: as asked, or 100. */
export const pageSize = (query: { limit?: number }) => query.limit ?? 100;

/** A page of `items` under `key`, with `next`, the URL of the following page, when the page was full. */
export function newestFirstPage<T extends { id: number }, K extends string>(key: K, items: T[], path: string, limit: number, also: Record<string, string> = {}) {
  const last = items.at(-1);
  const next = () => `${apiPrefix}${path}?${new URLSearchParams({ ...also, before: String(last!.id), limit: String(limit) })}`;
  return { [key]: items, ...(items.length === limit && last && { next: next() }) } as Record<K, T[]> & { next?: string };
}
