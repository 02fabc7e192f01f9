/** A connection's page (S26): its status, its history and the flows that use it. */
import type { FastifyInstance } from 'fastify';
import { createPageStore } from '../../stores/page-store.js';
import { inEnvironment, notFound, page, type PageDeps } from '../page.js';

export function connectionPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);
  app.get<{ Params: { id: string } }>('/connections/:id', async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const connection = await store.connection(environment, request.params.id);
    if (!connection) return notFound(reply, person);
    return page(reply, 'connection', { title: connection.name, person, environment, connection });
  });
}
