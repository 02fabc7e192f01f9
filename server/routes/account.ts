/** The account's changes (S40): who changed its people, environments, flows and subscriptions, for owners and admins. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditTrail } from '../../stores/audit-store.js';
import { mayAudit, notFound, page, signedIn, type PageDeps } from '../page.js';

const pageSize = 100;
const changesQuery = z.object({ before: z.coerce.number().int().positive().optional() }).catch({});

export function accountPages(app: FastifyInstance, deps: PageDeps): void {
  app.get('/account/changes', async (request, reply) => {
    const person = signedIn(request);
    if (!mayAudit(person)) return notFound(reply, person);
    const { before } = changesQuery.parse(request.query);
    const events = await auditTrail(deps.db, person.account, { before, limit: pageSize });
    const last = events.at(-1);
    return page(reply, 'account', {
      title: 'Changes',
      wide: true,
      person,
      events,
      ...(events.length === pageSize && last && { next: `/account/changes?before=${last.id}` }),
    });
  });
}
