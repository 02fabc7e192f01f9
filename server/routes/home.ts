/** The home page: the person's account and its environments. */
import type { FastifyInstance } from 'fastify';
import { createPageStore } from '../../stores/page-store.js';
import { mayAudit, page, signedIn, type PageDeps } from '../page.js';

export function homePage(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);
  app.get('/', async (request, reply) => {
    const person = signedIn(request);
    return page(reply, 'home', { title: 'Herald', person, environments: await store.environments(person.account), mayAudit: mayAudit(person) });
  });
}
