/**
 * The pages the emails link to (S21, S26): an environment's errors, one error, a connection, and
 * resolving errors. Every page asks for sign-in first and shows only the person's account (S23);
 * monitor users see no resolve button, and the server refuses them anyway.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { z } from 'zod';
import { entityId, reportLimits } from '../contracts/error-report.js';
import { errorStatuses } from '../contracts/errors.js';
import { check } from '../contracts/problems.js';
import type { HeraldClient } from '../client/herald-client.js';
import { HeraldInputError } from '../client/herald-input-error.js';
import { createPageStore, type EmailLine, type PageEnvironment } from '../stores/page-store.js';
import { createDigestStore } from '../stores/digest-store.js';
import { createConnectionStore } from '../stores/connection-store.js';
import { composeDigest } from '../email/digest-composer.js';
import { digestDetailLimit } from '../email/digest-email.js';
import { connectionEmailJob } from '../email/connection-email.js';
import { reminderEmailJob } from '../email/reminder-email.js';
import { assignmentEmailJob } from '../email/assignment-email.js';
import { createReminderStore } from '../stores/reminder-store.js';
import { createAssignmentStore } from '../stores/assignment-store.js';
import { unsubscribeLinks, withUnsubscribe } from '../email/unsubscribe.js';
import { createSettingsStore } from '../stores/settings-store.js';
import type { Person } from '../stores/people-store.js';
import { page, requirePerson, safeNext } from './people.js';
import { pageTime } from './page-renderer.js';

const pageSize = 50;
const statusLabels = { open: 'open', retrying: 'retrying', resolved: 'resolved', auto_resolved: 'auto-resolved' } as const;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date, YYYY-MM-DD' });
const blankAsUnset = (value: unknown) => (value === '' ? undefined : value);
const errorsQuery = z.object({
  flow: z.preprocess(blankAsUnset, entityId.optional()),
  integration: z.preprocess(blankAsUnset, entityId.optional()),
  status: z.preprocess(blankAsUnset, z.enum(errorStatuses, { error: `must be one of ${errorStatuses.join(', ')}` }).optional()),
  traceKey: z.preprocess(blankAsUnset, z.string().max(reportLimits.traceKeyLength).optional()),
  since: z.preprocess(blankAsUnset, day.optional()),
  until: z.preprocess(blankAsUnset, day.optional()),
  mine: z.preprocess(blankAsUnset, z.literal('1').optional()),
  before: z.preprocess(blankAsUnset, z.coerce.number().int().positive().optional()),
});
const manyIds = z.union([z.string(), z.array(z.string())]).optional().transform((ids) => (ids === undefined ? [] : [ids].flat()));
const settingsForm = z.object({ user: z.string().optional(), flows: manyIds, integrations: manyIds, connections: manyIds });
const resolveForm = z.object({
  ids: z.union([z.string(), z.array(z.string())], { error: 'select at least one error' }).transform((ids) => [ids].flat().map(Number)),
  back: z.string().optional(),
});

export interface PageDeps {
  db: Knex;
  client: HeraldClient;
  /** For showing an email again as it was sent: its links and its unsubscribe link. */
  appUrl: string;
  secret: string;
}

/** What an email of each kind is called where it has no subject yet (not sent). */
const emailKindNames: Record<EmailLine['kind'], string> = {
  digest: 'Digest',
  connection: 'Connection email',
  reminder: 'Reminder of errors still open',
  assignment: 'Errors assigned to you',
};

const statusText = (line: EmailLine) =>
  line.status === 'sent'
    ? `sent ${line.sentAt ? pageTime(line.sentAt) : ''}`
    : line.status === 'failed'
      ? `refused by the mail server: ${line.lastError ?? ''}`
      : line.status === 'cancelled'
        ? `not sent: ${line.lastError ?? ''}`
        : `waiting${line.lastError ? `: ${line.lastError}` : ''}`;

const canResolve = (person: Person) => person.role !== 'monitor';

export function pageRoutes(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);
  const settings = createSettingsStore(deps.db);
  const notFound = (reply: FastifyReply, person: Person) => page(reply, 'not-found', { title: 'Not found', person }, 404);

  /** The signed-in person and the environment of the URL, if it is of their account; else the answer is sent. */
  const context = async (request: FastifyRequest, reply: FastifyReply): Promise<{ person: Person; environment: PageEnvironment } | undefined> => {
    const person = requirePerson(request, reply);
    if (!person) return undefined;
    const environment = await store.environment(person.account, (request.params as { env: string }).env);
    if (!environment) {
      await notFound(reply, person);
      return undefined;
    }
    return { person, environment };
  };

  app.get('/', async (request, reply) => {
    const person = requirePerson(request, reply);
    if (!person) return reply;
    return page(reply, 'home', { title: 'Herald', person, environments: await store.environments(person.account) });
  });

  app.get('/environments/:env/errors', async (request, reply) => {
    const found = await context(request, reply);
    if (!found) return reply;
    const { person, environment } = found;
    const query = check(errorsQuery, request.query, '(query)');
    if (query.problems) return page(reply, 'refused', { title: 'Not shown', person, environment, problems: query.problems, back: request.url.split('?')[0] }, 400);
    const filter = query.value;
    const errors = await store.errors(environment, {
      ...filter,
      since: filter.since ? new Date(`${filter.since}T00:00:00Z`) : undefined,
      // Until a day: up to the end of that day.
      until: filter.until ? new Date(new Date(`${filter.until}T00:00:00Z`).getTime() + 86_400_000) : undefined,
      followedBy: filter.mine ? person.id : undefined,
      limit: pageSize + 1,
    });
    const more = errors.length > pageSize;
    const shown = errors.slice(0, pageSize);
    const next = more ? `${request.url.split('?')[0]}?${new URLSearchParams({ ...stringEntries(filter), before: String(shown.at(-1)!.id) })}` : undefined;
    const groups = await store.flows(environment);
    return page(reply, 'errors', {
      title: 'Errors',
      wide: true,
      person,
      environment,
      groups,
      statuses: errorStatuses.map((value) => ({ value, label: statusLabels[value] })),
      filter: { ...filter, sinceText: filter.since ?? '', untilText: filter.until ?? '' },
      integrations: groups.map((group) => ({ ...group.integration, selected: group.integration.id === filter.integration })),
      mine: filter.mine === '1',
      errors: shown,
      next,
      here: request.url,
      resolved: (request.query as { resolved?: string }).resolved,
      assigned: (request.query as { assigned?: string }).assigned,
      canResolve: canResolve(person),
      users: canResolve(person) ? await settings.users(person.account) : [],
    });
  });

  app.get('/emails', async (request, reply) => {
    const person = requirePerson(request, reply);
    if (!person) return reply;
    const lines = (await store.emails(person, 100)).map((line) => ({
      ...line,
      statusText: line.deliveryId ? statusText(line) : '',
      kindName: emailKindNames[line.kind],
      why: line.nothingNew ? 'Nothing was new or resolved in the flows you followed.' : `You followed no flow of ${line.environmentName} then.`,
    }));
    return page(reply, 'emails', { title: 'My emails', wide: true, person, lines });
  });

  /** One of the person's emails, as it was sent (composed again from what its cycle or change fixed). */
  app.get('/emails/:id', async (request, reply) => {
    const person = requirePerson(request, reply);
    if (!person) return reply;
    const id = Number((request.params as { id: string }).id);
    const delivery = Number.isSafeInteger(id) ? await deps.db('email_deliveries').where({ id, user_id: person.id }).first('kind', 'cycle_id') : undefined;
    if (!delivery) return notFound(reply, person);
    const unsubscribe = unsubscribeLinks(deps.appUrl, deps.secret);
    let email: { html: string };
    if (delivery.kind === 'digest') {
      const digests = createDigestStore(deps.db);
      const [pending] = await digests.deliveriesByIds([id], true);
      const context = await digests.cycleContext(Number(delivery.cycle_id));
      const newByFlow = await digests.newErrorsByFlow(context.cycleId, pending!.flowIds, digestDetailLimit);
      const { subject, rendered } = await composeDigest(digests, context, pending!, newByFlow, await digests.foldedByFlow(context.cycleId), deps.appUrl);
      email = withUnsubscribe({ subject, ...rendered }, unsubscribe, { userId: person.id, environment: context.environment.id, scope: { kind: 'errors' } });
    } else if (delivery.kind === 'reminder') {
      const [context] = await createReminderStore(deps.db).pendingEmails({ deliveryIds: [id], anyStatus: true });
      email = await reminderEmailJob(context!, deps.appUrl, '', unsubscribe).compose();
    } else if (delivery.kind === 'assignment') {
      const [context] = await createAssignmentStore(deps.db).pendingEmails({ deliveryIds: [id], anyStatus: true });
      email = await assignmentEmailJob(context!, deps.appUrl, '').compose();
    } else {
      const [context] = await createConnectionStore(deps.db).pendingEmails({ deliveryIds: [id], anyStatus: true });
      email = await connectionEmailJob(context!, deps.appUrl, '', unsubscribe).compose();
    }
    // The email is shown as a document of its own, sandboxed: it runs nothing and reaches nothing.
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
      .send(email.html);
  });

  app.get('/environments/:env/flows/:flow/errors', async (request, reply) => {
    const { env, flow } = request.params as { env: string; flow: string };
    return reply.redirect(`/environments/${encodeURIComponent(env)}/errors?flow=${encodeURIComponent(flow)}`, 303);
  });

  app.get('/environments/:env/errors/:id', async (request, reply) => {
    const found = await context(request, reply);
    if (!found) return reply;
    const { person, environment } = found;
    const id = Number((request.params as { id: string }).id);
    const error = Number.isSafeInteger(id) && id > 0 ? await store.error(environment, id) : undefined;
    if (!error) return notFound(reply, person);
    return page(reply, 'error', {
      title: error.traceKey,
      person,
      environment,
      error,
      record: error.record === null || error.record === undefined ? undefined : JSON.stringify(error.record, null, 2),
      here: request.url,
      canResolve: canResolve(person),
      users: canResolve(person) ? await settings.users(person.account) : [],
    });
  });

  app.get('/environments/:env/connections/:id', async (request, reply) => {
    const found = await context(request, reply);
    if (!found) return reply;
    const { person, environment } = found;
    const connection = await store.connection(environment, (request.params as { id: string }).id);
    if (!connection) return notFound(reply, person);
    return page(reply, 'connection', { title: connection.name, person, environment, connection });
  });

  /** Whose settings: the person's own, or (owners and admins) any current user of the account. */
  const subjectOf = async (person: Person, requested: unknown) => {
    if (requested === undefined || requested === '' || Number(requested) === person.id) return { id: person.id, email: person.email };
    if (person.role !== 'owner' && person.role !== 'admin') return undefined;
    return (await settings.users(person.account)).find((user) => user.id === Number(requested));
  };

  app.get('/environments/:env/notifications', async (request, reply) => {
    const found = await context(request, reply);
    if (!found) return reply;
    const { person, environment } = found;
    const subject = await subjectOf(person, (request.query as { user?: string }).user);
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
      users: person.role === 'owner' || person.role === 'admin' ? await settings.users(person.account) : undefined,
      groups,
      connections,
      chosenAt: chosen.chosenAt,
      saved: (request.query as { saved?: string }).saved === '1',
    });
  });

  app.post('/environments/:env/notifications', { preHandler: app.csrfProtection }, async (request, reply) => {
    const found = await context(request, reply);
    if (!found) return reply;
    const { person, environment } = found;
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

  /** Resolving or assigning errors from a page: one or many, by a person who is no monitor, through Herald's workflows. */
  const errorAction =
    <F extends { ids: number[]; back?: string }>(
      verb: 'resolve' | 'assign',
      form: z.ZodType<F>,
      act: (client: HeraldClient, environment: PageEnvironment, person: Person, form: F) => Promise<number[]>,
    ) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const found = await context(request, reply);
      if (!found) return reply;
      const { person, environment } = found;
      const checked = check(form, request.body, '(form)');
      const back = safeNext(checked.problems ? undefined : checked.value.back);
      const done = verb === 'resolve' ? 'resolved' : 'assigned';
      const refuse = (problems: { field: string; message: string }[]) =>
        page(reply, 'refused', { title: `Not ${done}`, person, environment, problems, back }, 403);
      if (checked.problems) return refuse(checked.problems);
      if (!canResolve(person)) return refuse([{ field: 'user', message: `Monitor users read errors; they do not ${verb} them.` }]);
      // Only errors of this environment (hence of this account): any other id is not there for this person.
      const known = await store.errors(environment, { limit: checked.value.ids.length, ids: checked.value.ids });
      if (known.length !== new Set(checked.value.ids).size) return notFound(reply, person);
      try {
        const ids = await act(deps.client, environment, person, checked.value);
        return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}${done}=${ids.length}`, 303);
      } catch (error) {
        if (error instanceof HeraldInputError) return refuse(error.problems);
        throw error;
      }
    };

  app.post(
    '/environments/:env/errors/assign',
    { preHandler: app.csrfProtection },
    errorAction('assign', resolveForm.extend({ assignee: z.string({ error: 'choose whom to assign to' }) }), (client, environment, person, form) =>
      client.assignErrors({ environment: environment.id, errorIds: form.ids, assignee: form.assignee, user: person.email }),
    ),
  );
  app.post(
    '/environments/:env/errors/resolve',
    { preHandler: app.csrfProtection },
    errorAction('resolve', resolveForm, (client, environment, person, form) => client.resolveErrors({ environment: environment.id, errorIds: form.ids, user: person.email })),
  );
}

function stringEntries(filter: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(filter).filter(([key, value]) => value !== undefined && key !== 'before').map(([key, value]) => [key, String(value)]));
}
