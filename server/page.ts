/**
 * What every page route uses: answering with a page (its model typed by page-models.ts, its forms
 * carrying the session's CSRF token), who is signed in, which environment the URL names, and
 * where a person may be sent next.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import type { HeraldClient } from '../client/herald-client.js';
import { z } from 'zod';
import type { Person } from '../stores/people-store.js';
import type { PageEnvironment } from '../stores/page-store.js';
import type { PageModels, PageName } from './page-models.js';
import { renderPage } from './page-renderer.js';
import type { ChannelAddressPolicy } from '../contracts/channel-url.js';

declare module 'fastify' {
  interface Session {
    personId?: number;
  }
  interface FastifyRequest {
    /** Who is signed in (people.ts reads it from the session). */
    person?: Person;
    /** The environment of the URL's `:env`, of the person's account (routes under /environments/:env). */
    environment?: PageEnvironment;
  }
}

/** Answers with a page. */
export function page<N extends PageName>(reply: FastifyReply, name: N, model: PageModels[N], status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(renderPage(name, { ...model, csrf: reply.generateCsrf() }));
}

/** The not-found page, for anything the person's account does not have. */
export const notFound = (reply: FastifyReply, person: Person) => page(reply, 'not-found', { title: 'Not found', person }, 404);

/** The person signed in; only for routes behind the sign-in hook (people.ts), which sends everyone else to sign in. */
export function signedIn(request: FastifyRequest): Person {
  if (!request.person) throw new Error(`${request.url} is served without the sign-in hook`);
  return request.person;
}

/** The signed-in person and the environment of the URL; only for routes under /environments/:env (people.ts finds it). */
export function inEnvironment(request: FastifyRequest): { person: Person; environment: PageEnvironment } {
  if (!request.environment) throw new Error(`${request.url} is served without its environment`);
  return { person: signedIn(request), environment: request.environment };
}

/** Where a person may be sent after signing in or acting: a path of this server, nothing else. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && next.length <= 2000 ? next : '/';
}

/** A query's field left empty (a form's select on "All", an empty input) reads as not given. */
export const blankAsUnset = (value: unknown) => (value === '' ? undefined : value);

/** A numeric id of the URL (an error's, an email's): undefined for anything else, which pages answer as not found. */
export const urlId = (value: string): number | undefined => {
  const parsed = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).safeParse(value);
  return parsed.success ? parsed.data : undefined;
};

/** Who sees the account's changes: owners and admins. */
export const mayAudit = (person: Person) => person.role === 'owner' || person.role === 'admin';

/** Who may resolve and assign: everyone but monitor users (S23). */
export const canResolve = (person: Person) => person.role !== 'monitor';

/** Errors a whole-group action (a group's page, or an email's group link) takes at most; the page says when more are left. */
export const groupActionLimit = 10_000;

/** What the page routes work with. */
export interface PageDeps {
  db: Knex;
  /** For what pages change through Herald's workflows (resolving and assigning errors). */
  client: HeraldClient;
  /** Herald's address as people reach it (HERALD_APP_URL): links in emails start with it. */
  appUrl: string;
  /** Signs sessions and unsubscribe links (HERALD_SECRET). */
  secret: string;
  /** Where channels may post (HERALD_CHANNEL_ALLOW; S43). */
  channelPolicy: ChannelAddressPolicy;
  /** What time it is, for what expires (an email's action links, S45); default the system's clock. */
  clock?: () => Date;
}
