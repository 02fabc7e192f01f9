/**
 * Notification settings (S24): which flows, integrations and connections a user follows in an
 * environment; owners and admins open anyone's of their account.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { check } from '../../contracts/problems.js';
import { createPageStore } from '../../stores/page-store.js';
import { createSettingsStore } from '../../stores/settings-store.js';
import type { Person } from '../../stores/people-store.js';
import { inEnvironment, notFound, page, type PageDeps } from '../page.js';

const manyIds = z.union([z.string(), z.array(z.string())]).optional().transform((ids) => (ids === undefined ? [] : [ids].flat()));
const settingsForm = z.object({ user: z.string().optional(), flows: manyIds, integrations: manyIds, connections: manyIds });
const settingsQuery = z.object({ user: z.string().optional(), saved: z.string().optional() }).catch({});
const mayOpenOthers = (person: Person) => person.role === 'owner' || person.role === 'admin';

export function notificationPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);
  const settings = createSettingsStore(deps.db);

  /** Whose settings: the person's own, or (owners and admins) any current user of the account. */
  const subjectOf = async (person: Person, requested: string | undefined) => {
    if (requested === undefined || requested === '' || Number(requested) === person.id) return { id: person.id, email: person.email };
    if (!mayOpenOthers(person)) return undefined;
    return (await settings.users(person.account)).find((user) => user.id === Number(requested));
  };

  app.get('/notifications', async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const query = settingsQuery.parse(request.query);
    const subject = await subjectOf(person, query.user);
    if (!subject) return notFound(reply, person);
    const chosen = await settings.subscriptions(subject.id, environment.id);
    const groups = (await store.flows(environment)).map((group) => ({
      ...group,
      allFlows: chosen.integrations.includes(group.integration.id),
      flows: group.flows.map((flow) => ({ ...flow, chosen: chosen.flows.includes(flow.id) })),
    }));
    const connections = (await store.connections(environment)).map((connection) => ({ ...connection, chosen: chosen.connections.includes(connection.id) }));
    const forOther = subject.id !== person.id;
    return page(reply, 'settings', {
      title: 'Notification settings',
      person,
      environment,
      subject,
      forOther,
      userQuery: forOther ? `?user=${subject.id}` : '',
      environments: await store.environments(person.account),
      users: mayOpenOthers(person) ? await settings.users(person.account) : undefined,
      groups,
      connections,
      chosenAt: chosen.chosenAt,
      saved: query.saved === '1',
    });
  });

  app.post('/notifications', { preHandler: app.csrfProtection }, async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const form = check(settingsForm, request.body ?? {}, '(form)');
    const back = `/environments/${environment.id}/notifications`;
    if (form.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: form.problems, back }, 400);
    const subject = await subjectOf(person, form.value.user);
    if (!subject) return notFound(reply, person);
    // Only what this environment sees can be chosen.
    const groups = await store.flows(environment);
    const known = {
      flows: new Set(groups.flatMap((group) => group.flows.map((flow) => flow.id))),
      integrations: new Set(groups.map((group) => group.integration.id)),
      connections: new Set((await store.connections(environment)).map((connection) => connection.id)),
    };
    const problems = (['flows', 'integrations', 'connections'] as const).flatMap((kind) =>
      form.value[kind].filter((id) => !known[kind].has(id)).map((id) => ({ field: kind, message: `"${id}" is not in ${environment.name}` })),
    );
    if (problems.length > 0) return page(reply, 'refused', { title: 'Not saved', person, environment, problems, back }, 400);
    await settings.save(subject.id, environment.id, form.value, person.id);
    const userQuery = subject.id === person.id ? '' : `&user=${subject.id}`;
    return reply.redirect(`${back}?saved=1${userQuery}`, 303);
  });
}
