/**
 * People's side of the server: sessions, CSRF tokens on every form (S28), sign-in, and the pages
 * the emails link to (S21, S26, S27), each in a module of routes/. Sessions are server-side
 * (PostgreSQL) behind an HttpOnly, SameSite=Lax cookie, Secure when Herald is served over https;
 * signing out ends the session. Every page but sign-in, unsubscribe and an email's action links (S45) asks for sign-in first (one
 * hook), and pages of an environment show only one of the person's account (S23).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import session from '@fastify/session';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { Mailer } from '../email/mailer.js';
import { createPeopleStore } from '../stores/people-store.js';
import { createSessionStore } from '../stores/session-store.js';
import { createPageStore } from '../stores/page-store.js';
import { answerError } from './error-handler.js';
import { notFound, page, signedIn, type PageDeps } from './page.js';
import { signInPages, type SignInOptions } from './routes/sign-in.js';
import { unsubscribePages } from './routes/unsubscribe.js';
import { actPages } from './routes/act.js';
import { homePage } from './routes/home.js';
import { emailPages } from './routes/emails.js';
import { accountPages } from './routes/account.js';
import { channelPages } from './routes/channels.js';
import { errorPages } from './routes/errors.js';
import { connectionPages } from './routes/connections.js';
import { overviewPages } from './routes/overview.js';
import { notificationPages } from './routes/notifications.js';

export interface PeopleOptions extends PageDeps {
  mailer: Mailer;
  /** Sign-in requests allowed per address and per client in 15 minutes. */
  signInLimits?: SignInOptions['limits'];
  /** Told of each sign-in email sent (the server's metrics). */
  signInSent?: () => void;
}

const sessionLifetimeMs = 12 * 60 * 60_000;

export async function peoplePlugin(app: FastifyInstance, options: PeopleOptions): Promise<void> {
  const people = createPeopleStore(options.db);
  const pages = createPageStore(options.db);
  await app.register(formbody);
  await app.register(cookie);
  await app.register(session, {
    cookieName: 'herald_session',
    secret: options.secret,
    store: createSessionStore(options.db),
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: options.appUrl.startsWith('https:'), path: '/', maxAge: sessionLifetimeMs },
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

  signInPages(app, options, { mailer: options.mailer, limits: options.signInLimits ?? { perAddress: 5, perClient: 20 }, sent: options.signInSent });
  unsubscribePages(app, options);
  actPages(app, options);

  await app.register(async (signedInOnly) => {
    signedInOnly.addHook('preHandler', askToSignIn);
    homePage(signedInOnly, options);
    emailPages(signedInOnly, options);
    accountPages(signedInOnly, options);
    channelPages(signedInOnly, options);
    await signedInOnly.register(
      async (environmentPages) => {
        // The environment of the URL, if it is of the person's account; anything else is not there for them.
        environmentPages.addHook('preHandler', async (request: FastifyRequest<{ Params: { env: string } }>, reply) => {
          const person = signedIn(request);
          request.environment = await pages.environment(person.account, request.params.env);
          if (!request.environment) return notFound(reply, person);
        });
        errorPages(environmentPages, options);
        connectionPages(environmentPages, options);
        overviewPages(environmentPages, options);
        notificationPages(environmentPages, options);
      },
      { prefix: '/environments/:env' },
    );
  });
}

/** Sends a person who is not signed in to the sign-in page, to come back here afterwards. */
async function askToSignIn(request: FastifyRequest, reply: FastifyReply) {
  if (!request.person) return reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`, 303);
}
