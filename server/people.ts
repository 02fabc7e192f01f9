/**
 * People's side of the server: sign-in without a password (S22), sessions, CSRF tokens on every
 * form (S28) and rate limits on sign-in. Sessions are server-side (PostgreSQL) behind an HttpOnly,
 * SameSite=Lax cookie, Secure when Herald is served over https; signing out ends the session.
 *
 * A sign-in link only opens a page that asks to confirm: mail scanners follow links, and must not
 * use up (or use) a person's link. The same answer follows a request for any address, so the
 * page cannot tell who is a user.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { answerError } from './error-handler.js';
import cookie from '@fastify/cookie';
import session from '@fastify/session';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Mailer } from '../email/mailer.js';
import { signInEmail } from '../email/sign-in-email.js';
import { createPeopleStore, type Person } from '../stores/people-store.js';
import { createSessionStore } from '../stores/session-store.js';
import { renderPage } from './page-renderer.js';
import { readUnsubscribeToken } from '../email/unsubscribe.js';
import { createSettingsStore } from '../stores/settings-store.js';
import { pageRoutes } from './page-routes.js';
import type { HeraldClient } from '../client/herald-client.js';

export interface PeopleOptions {
  db: Knex;
  mailer: Mailer;
  /** Herald's address as people reach it (HERALD_APP_URL): links in emails start with it. */
  appUrl: string;
  /** Signs the session cookie (HERALD_SECRET): at least 32 characters. */
  secret: string;
  /** Sign-in requests allowed per address and per client in 15 minutes. */
  signInLimits?: { perAddress: number; perClient: number };
  /** For what pages change through Herald's workflows (resolving and assigning errors). */
  client: HeraldClient;
}

declare module 'fastify' {
  interface Session {
    personId?: number;
  }
  interface FastifyRequest {
    person?: Person;
  }
}

const sessionLifetimeMs = 12 * 60 * 60_000;
const signInForm = z.object({ email: z.string().trim().max(320), next: z.string().optional() });

/** Where a person may be sent after signing in: a path of this server, nothing else. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && next.length <= 2000 ? next : '/';
}

/** Sends a person who is not signed in to the sign-in page, to come back here afterwards. */
export function requirePerson(request: FastifyRequest, reply: FastifyReply): Person | undefined {
  if (request.person) return request.person;
  void reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`, 303);
  return undefined;
}

/** Answers with a page, its forms carrying the session's CSRF token. */
export const page = (reply: FastifyReply, name: string, model: { title: string } & Record<string, unknown>, status = 200) =>
  reply.code(status).type('text/html; charset=utf-8').send(renderPage(name, { ...model, csrf: reply.generateCsrf() }));

export async function peoplePlugin(app: FastifyInstance, options: PeopleOptions): Promise<void> {
  const people = createPeopleStore(options.db);
  const settings = createSettingsStore(options.db);
  const secure = options.appUrl.startsWith('https:');
  await app.register(formbody);
  await app.register(cookie);
  await app.register(session, {
    cookieName: 'herald_session',
    secret: options.secret,
    store: createSessionStore(options.db),
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: sessionLifetimeMs },
  });
  await app.register(csrf, { sessionPlugin: '@fastify/session' });
  await app.register(rateLimit, { global: false });

  app.addHook('preHandler', async (request) => {
    const id = request.session.get('personId');
    if (id !== undefined) request.person = await people.person(id);
  });
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.code?.startsWith('FST_CSRF')) return page(reply, 'forbidden', { title: 'Form expired', person: request.person }, 403);
    return answerError(error, request, reply);
  });

  const limits = options.signInLimits ?? { perAddress: 5, perClient: 20 };
  const window = '15 minutes';
  const addressOf = (request: FastifyRequest) => (request.body as { email?: unknown } | undefined)?.email;

  app.get('/sign-in', async (request, reply) =>
    page(reply, 'sign-in', { title: 'Sign in', next: safeNext((request.query as { next?: unknown }).next) }),
  );

  // Two limits on one route: per client, and per address asked for (whichever client asks).
  const signInLimiters = [
    app.createRateLimit({ max: limits.perClient, timeWindow: window, keyGenerator: (request) => `sign-in-client:${request.ip}` }),
    app.createRateLimit({ max: limits.perAddress, timeWindow: window, keyGenerator: (request) => `sign-in-address:${String(addressOf(request) ?? '').trim().toLowerCase()}` }),
  ];
  const limitSignIn = async (request: FastifyRequest, reply: FastifyReply) => {
    for (const limiter of signInLimiters) {
      const limit = await limiter(request);
      if (!limit.isAllowed && limit.isExceeded) {
        return reply.code(429).header('retry-after', String(limit.ttlInSeconds)).type('text/plain').send(`Too many sign-in requests: try again in ${Math.ceil(limit.ttlInSeconds / 60)} min.`);
      }
    }
  };

  app.post(
    '/sign-in',
    { preHandler: [limitSignIn, app.csrfProtection] },
    async (request, reply) => {
      const form = signInForm.safeParse(request.body);
      const email = form.success ? form.data.email : '';
      const next = safeNext(form.success ? form.data.next : undefined);
      // The link is made and sent after the answer: the page answers as soon for an address that is
      // a user's as for one that is not, so its timing tells nobody who is a user (S22).
      if (email) {
        setImmediate(() => {
          void sendSignInLinks(email, next).catch((error: unknown) => request.log.error({ err: error }, 'sign-in link not sent'));
        });
      }
      return page(reply, 'sign-in-sent', { title: 'Check your email', email, next: encodeURIComponent(next) });
    },
  );

  const sendSignInLinks = async (email: string, next: string) => {
    const links = await people.createSignInLinks(email, next);
    if (links.length === 0) return;
    const urls = links.map(({ token, person }) => ({ url: `${options.appUrl}/sign-in/${token}`, account: person.account, accountName: person.accountName }));
    await options.mailer.send(await signInEmail(links[0]!.person.email, urls));
  };

  app.get('/sign-in/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    const person = await people.peekSignInLink(token);
    if (!person) return page(reply, 'sign-in-invalid', { title: 'Link not valid' }, 410);
    return page(reply, 'sign-in-confirm', { title: 'Sign in', person, token });
  });

  app.post('/sign-in/:token', { preHandler: app.csrfProtection }, async (request, reply) => {
    const { token } = request.params as { token: string };
    const used = await people.useSignInLink(token);
    if (!used) return page(reply, 'sign-in-invalid', { title: 'Link not valid' }, 410);
    // A new session id at sign-in: a session id known before cannot be ridden.
    await request.session.regenerate();
    request.session.set('personId', used.person.id);
    return reply.redirect(safeNext(used.nextPath), 303);
  });

  app.post('/sign-out', { preHandler: app.csrfProtection }, async (request, reply) => {
    await request.session.destroy();
    return reply.redirect('/sign-in', 303);
  });

  // One-click unsubscribe (S25): the token is the authority, no sign-in and no CSRF token (mail
  // clients POST it, RFC 8058); a GET only asks to confirm, as mail scanners follow links.
  const unsubscribePage = async (request: FastifyRequest, reply: FastifyReply, confirmed: boolean) => {
    const { token } = request.params as { token: string };
    const unsubscribe = readUnsubscribeToken(options.secret, token);
    const person = unsubscribe && (await people.person(unsubscribe.userId));
    const environment = unsubscribe && (await options.db('environments').where({ id: unsubscribe.environment }).first('name'));
    const connection = unsubscribe?.scope.kind === 'connection' ? await options.db('connections').where({ id: unsubscribe.scope.connection }).first('name') : undefined;
    if (!unsubscribe || !person || !environment || (unsubscribe.scope.kind === 'connection' && !connection)) {
      return page(reply, 'unsubscribe-invalid', { title: 'Link not valid' }, 400);
    }
    const what = connection ? `emails about ${connection.name} in ${environment.name}` : `error emails of ${environment.name}`;
    const model = { title: 'Unsubscribe', email: person.email, what, token, environmentId: unsubscribe.environment };
    if (!confirmed) return page(reply, 'unsubscribe', model);
    const scope = unsubscribe.scope.kind === 'connection' ? { connection: unsubscribe.scope.connection } : {};
    const ended = await settings.unsubscribe(unsubscribe.userId, unsubscribe.environment, scope);
    return page(reply, 'unsubscribe', { ...model, done: true, ended });
  };
  app.get('/unsubscribe/:token', (request, reply) => unsubscribePage(request, reply, false));
  app.post('/unsubscribe/:token', (request, reply) => unsubscribePage(request, reply, true));

  pageRoutes(app, { db: options.db, client: options.client, appUrl: options.appUrl, secret: options.secret });
}
