/**
 * One-click unsubscribe (S25): the signed token is the authority, no sign-in and no CSRF token
 * (mail clients POST it, RFC 8058); a GET only asks to confirm, as mail scanners follow links.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readUnsubscribeToken } from '../../email/unsubscribe.js';
import { createPageStore } from '../../stores/page-store.js';
import { createPeopleStore } from '../../stores/people-store.js';
import { createSettingsStore } from '../../stores/settings-store.js';
import { page, type PageDeps } from '../page.js';

export function unsubscribePages(app: FastifyInstance, deps: PageDeps): void {
  const people = createPeopleStore(deps.db);
  const store = createPageStore(deps.db);
  const settings = createSettingsStore(deps.db);

  const unsubscribePage = async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply, confirmed: boolean) => {
    const { token } = request.params;
    const unsubscribe = readUnsubscribeToken(deps.secret, token);
    if (!unsubscribe) return page(reply, 'unsubscribe-invalid', { title: 'Link not valid' }, 400);
    const connectionId = unsubscribe.scope.kind === 'connection' ? unsubscribe.scope.connection : undefined;
    const [person, names] = await Promise.all([people.person(unsubscribe.userId), store.names(unsubscribe.environment, connectionId)]);
    if (!person || !names.environment || (connectionId !== undefined && !names.connection)) {
      return page(reply, 'unsubscribe-invalid', { title: 'Link not valid' }, 400);
    }
    const weekly = unsubscribe.scope.kind === 'weekly';
    const what = names.connection ? `emails about ${names.connection} in ${names.environment}` : weekly ? `weekly reviews of ${names.environment}` : `error emails of ${names.environment}`;
    const model = { title: 'Unsubscribe', email: person.email, what, token, environmentId: unsubscribe.environment };
    if (!confirmed) return page(reply, 'unsubscribe', model);
    const ended = await settings.unsubscribe(unsubscribe.userId, unsubscribe.environment, connectionId !== undefined ? { connection: connectionId } : weekly ? { weekly } : {});
    return page(reply, 'unsubscribe', { ...model, done: true, ended });
  };
  app.get<{ Params: { token: string } }>('/unsubscribe/:token', (request, reply) => unsubscribePage(request, reply, false));
  app.post<{ Params: { token: string } }>('/unsubscribe/:token', (request, reply) => unsubscribePage(request, reply, true));
}
