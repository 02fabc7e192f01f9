/**
 * Sign-in without a password (S22), rate-limited per address and per client. A sign-in link only
 * opens a page that asks to confirm: mail scanners follow links, and must not use up (or use) a
 * person's link. The same answer follows a request for any address, so the page cannot tell who
 * is a user.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Mailer } from '../../email/mailer.js';
import { signInEmail } from '../../email/sign-in-email.js';
import { createPeopleStore } from '../../stores/people-store.js';
import { page, safeNext, type PageDeps } from '../page.js';

const signInForm = z.object({ email: z.string().trim().max(320), next: z.string().optional() });
const signInQuery = z.object({ next: z.string().optional() }).catch({});

export interface SignInOptions {
  mailer: Mailer;
  /** Sign-in requests allowed per address and per client in 15 minutes. */
  limits: { perAddress: number; perClient: number };
  /** Told of each sign-in email sent (the server's metrics). */
  sent?: () => void;
}

export function signInPages(app: FastifyInstance, deps: PageDeps, options: SignInOptions): void {
  const people = createPeopleStore(deps.db);
  const window = '15 minutes';
  const addressOf = (request: FastifyRequest) => (request.body as { email?: unknown } | undefined)?.email;

  app.get('/sign-in', async (request, reply) => page(reply, 'sign-in', { title: 'Sign in', next: safeNext(signInQuery.parse(request.query).next) }));

  // Two limits on one route: per client, and per address asked for (whichever client asks).
  const signInLimiters = [
    app.createRateLimit({ max: options.limits.perClient, timeWindow: window, keyGenerator: (request) => `sign-in-client:${request.ip}` }),
    app.createRateLimit({ max: options.limits.perAddress, timeWindow: window, keyGenerator: (request) => `sign-in-address:${String(addressOf(request) ?? '').trim().toLowerCase()}` }),
  ];
  const limitSignIn = async (request: FastifyRequest, reply: FastifyReply) => {
    for (const limiter of signInLimiters) {
      const limit = await limiter(request);
      if (!limit.isAllowed && limit.isExceeded) {
        return reply.code(429).header('retry-after', String(limit.ttlInSeconds)).type('text/plain').send(`Too many sign-in requests: try again in ${Math.ceil(limit.ttlInSeconds / 60)} min.`);
      }
    }
  };

  const sendSignInLinks = async (email: string, next: string) => {
    const links = await people.createSignInLinks(email, next);
    if (links.length === 0) return;
    const urls = links.map(({ token, person }) => ({ url: `${deps.appUrl}/sign-in/${token}`, account: person.account, accountName: person.accountName }));
    await options.mailer.send(await signInEmail(links[0]!.person.email, urls));
    options.sent?.();
  };

  app.post('/sign-in', { preHandler: [limitSignIn, app.csrfProtection] }, async (request, reply) => {
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
  });

  app.get<{ Params: { token: string } }>('/sign-in/:token', async (request, reply) => {
    const person = await people.peekSignInLink(request.params.token);
    if (!person) return page(reply, 'sign-in-invalid', { title: 'Link not valid' }, 410);
    // Not signed in yet: the page names who the link signs in (`signingIn`), and the layout shows nobody.
    return page(reply, 'sign-in-confirm', { title: 'Sign in', signingIn: person, token: request.params.token });
  });

  app.post<{ Params: { token: string } }>('/sign-in/:token', { preHandler: app.csrfProtection }, async (request, reply) => {
    const used = await people.useSignInLink(request.params.token);
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
}
