/**
 * An environment's errors (S21): the list with its filters and pages, one error with what
 * surrounds it, and resolving or assigning them (S6, S32) through Herald's workflows, or snoozing
 * them (S46). Monitor users see no resolve button, and are refused anyway.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { entityId, reportLimits } from '../../contracts/error-report.js';
import { errorStatuses } from '../../contracts/errors.js';
import { check, InputRefusedError, type InputProblem } from '../../contracts/problems.js';
import type { HeraldClient } from '../../client/herald-client.js';
import { createPageStore, type PageEnvironment, type PageStore } from '../../stores/page-store.js';
import { createSettingsStore } from '../../stores/settings-store.js';
import { createSnoozeStore, type SnoozeRequest } from '../../stores/snooze-store.js';
import { snoozeEnd } from '../../contracts/snooze.js';
import type { Person } from '../../stores/people-store.js';
import { blankAsUnset, canResolve, groupActionLimit, inEnvironment, notFound, page, safeNext, urlId, type PageDeps } from '../page.js';

const pageSize = 50;
/** A group's fingerprint: a computed one, a flow's own (`own:` + 200 characters), or an old error's message. */
const groupLength = 11_000;
const statusLabels = { open: 'open', retrying: 'retrying', resolved: 'resolved', auto_resolved: 'auto-resolved' } as const;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date, YYYY-MM-DD' });
const errorsQuery = z.object({
  flow: z.preprocess(blankAsUnset, entityId.optional()),
  integration: z.preprocess(blankAsUnset, entityId.optional()),
  status: z.preprocess(blankAsUnset, z.enum(errorStatuses, { error: `must be one of ${errorStatuses.join(', ')}` }).optional()),
  traceKey: z.preprocess(blankAsUnset, z.string().max(reportLimits.traceKeyLength).optional()),
  since: z.preprocess(blankAsUnset, day.optional()),
  until: z.preprocess(blankAsUnset, day.optional()),
  mine: z.preprocess(blankAsUnset, z.literal('1').optional()),
  before: z.preprocess(blankAsUnset, z.coerce.number().int().positive().optional()),
  /** One group's errors (S42): their fingerprint, as digests link to it. */
  group: z.preprocess(blankAsUnset, z.string().max(groupLength, { error: `must be a group's fingerprint (at most ${groupLength} characters)` }).optional()),
  /** One line per group (1) or one per error (0); unset: grouped, as digests group, unless one record or group is asked for. */
  grouped: z.preprocess(blankAsUnset, z.enum(['0', '1'], { error: 'must be 1 (one line per group) or 0 (one per error)' }).optional()),
});
/** What the last action did, as the page it came back to is told (`?resolved=2`). */
const actionNotice = z.object({ resolved: z.string().optional(), assigned: z.string().optional(), snoozed: z.string().optional() }).catch({});
const actionForm = z.object({
  ids: z.union([z.string(), z.array(z.string())], { error: 'select at least one error' }).transform((ids) => [ids].flat().map(Number)),
  back: z.string().optional(),
});
const assignForm = actionForm.extend({ assignee: z.string({ error: 'choose whom to assign to' }) });
const snoozeForMessage = 'choose for how long: an hour, a day or a week';
const snoozeFor = z.enum(['1h', '1 day', '7 days'], { error: snoozeForMessage });
const snoozeForm = actionForm.extend({ for: snoozeFor });
const groupForm = z.object({
  flow: entityId,
  group: z.string({ error: 'name the group' }).min(1, { error: 'name the group' }).max(groupLength),
  back: z.string().optional(),
});
const assignGroupForm = groupForm.extend({ assignee: z.string({ error: 'choose whom to assign to' }) });
const snoozeGroupForm = groupForm.extend({ for: snoozeFor });

export function errorPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);
  const settings = createSettingsStore(deps.db);
  /** Whom a person may assign to: the account's users, for those who may act at all. */
  const assignees = (person: Person) => (canResolve(person) ? settings.users(person.account) : Promise.resolve([]));

  app.get('/errors', async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const path = request.url.split('?')[0]!;
    const query = check(errorsQuery, request.query, '(query)');
    if (query.problems) return page(reply, 'refused', { title: 'Not shown', person, environment, problems: query.problems, back: path }, 400);
    const filter = query.value;
    const grouped = filter.grouped === undefined ? !filter.traceKey && !filter.group : filter.grouped === '1';
    const errorFilter = {
      ...filter,
      since: filter.since ? new Date(`${filter.since}T00:00:00Z`) : undefined,
      // Until a day: up to the end of that day.
      until: filter.until ? new Date(new Date(`${filter.until}T00:00:00Z`).getTime() + 86_400_000) : undefined,
      followedBy: filter.mine ? person.id : undefined,
    };
    const errors = grouped ? [] : await store.errors(environment, { ...errorFilter, limit: pageSize + 1 });
    const shown = errors.slice(0, pageSize);
    const { before: _before, ...groupFilter } = errorFilter;
    const groupRows = grouped || filter.group ? await store.errorGroups(environment, { ...groupFilter, limit: pageSize }) : [];
    const next = errors.length > pageSize ? `${path}?${new URLSearchParams({ ...stringEntries(filter), before: String(shown.at(-1)!.id) })}` : undefined;
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
      grouped,
      errorGroups: grouped ? groupRows : [],
      group: filter.group ? groupRows[0] : undefined,
      errors: shown,
      next,
      here: request.url,
      ...actionNotice.parse(request.query),
      canResolve: canResolve(person),
      users: await assignees(person),
    });
  });

  app.get<{ Params: { id: string } }>('/errors/:id', async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const id = urlId(request.params.id);
    const error = id === undefined ? undefined : await store.error(environment, id);
    if (!error) return notFound(reply, person);
    return page(reply, 'error', {
      title: error.traceKey,
      person,
      environment,
      error,
      record: error.record === null || error.record === undefined ? undefined : JSON.stringify(error.record, null, 2),
      here: request.url,
      canResolve: canResolve(person),
      users: await assignees(person),
    });
  });

  // A flow's errors: older emails link here.
  app.get<{ Params: { flow: string } }>('/flows/:flow/errors', async (request, reply) => {
    const { environment } = inEnvironment(request);
    return reply.redirect(`/environments/${encodeURIComponent(environment.id)}/errors?flow=${encodeURIComponent(request.params.flow)}`, 303);
  });

  // One by one, as selected, or a whole group at once (S42).
  const resolve = (client: HeraldClient, environment: PageEnvironment, person: Person, _form: unknown, ids: number[]) =>
    client.resolveErrors({ environment: environment.id, errorIds: ids, user: person.email });
  const assign = (client: HeraldClient, environment: PageEnvironment, person: Person, form: { assignee: string }, ids: number[]) =>
    client.assignErrors({ environment: environment.id, errorIds: ids, assignee: form.assignee, user: person.email });
  // Not now (S46): the account's snooze, which sends nothing; the digest learns of it at once, and when it ends.
  const snoozes = createSnoozeStore(deps.db);
  const snoozeAs = async (client: HeraldClient, environment: PageEnvironment, person: Person, form: { for: string }, target: Pick<SnoozeRequest, 'errorIds' | 'group'>) => {
    const now = new Date();
    return (await snoozes.snooze({ environment: environment.id, ...target, until: snoozeEnd(form, now), user: person.email }, now, (env) => client.tellDigest(env))).errors;
  };
  const snooze = (client: HeraldClient, environment: PageEnvironment, person: Person, form: { for: string }, ids: number[]) =>
    snoozeAs(client, environment, person, form, { errorIds: ids });
  // A group's snooze holds the errors that join the group later too.
  const snoozeGroup = (client: HeraldClient, environment: PageEnvironment, person: Person, form: { flow: string; group: string; for: string }) =>
    snoozeAs(client, environment, person, form, { group: { flow: form.flow, key: form.group } });
  app.post('/errors/resolve', { preHandler: app.csrfProtection }, errorAction(deps.client, 'resolve', actionForm, selected(store), resolve));
  app.post('/errors/snooze', { preHandler: app.csrfProtection }, errorAction(deps.client, 'snooze', snoozeForm, selected(store), snooze));
  app.post('/errors/assign', { preHandler: app.csrfProtection }, errorAction(deps.client, 'assign', assignForm, selected(store), assign));
  app.post('/errors/resolve-group', { preHandler: app.csrfProtection }, errorAction(deps.client, 'resolve', groupForm, ofGroup(store), resolve));
  app.post('/errors/assign-group', { preHandler: app.csrfProtection }, errorAction(deps.client, 'assign', assignGroupForm, ofGroup(store), assign));
  app.post('/errors/snooze-group', { preHandler: app.csrfProtection }, errorAction(deps.client, 'snooze', snoozeGroupForm, ofGroup(store), snoozeGroup));
}

const doneOf = { resolve: 'resolved', assign: 'assigned', snooze: 'snoozed' } as const;
type Done = (typeof doneOf)[keyof typeof doneOf];

/** Resolving, assigning or snoozing errors from a page: one or many, of this environment, by a person who is no monitor. */
function errorAction<F extends { back?: string }>(
  client: HeraldClient,
  verb: keyof typeof doneOf,
  form: z.ZodType<F>,
  /** The errors the form names, all of this environment; undefined when one is not. */
  idsOf: (environment: PageEnvironment, form: F) => Promise<number[] | undefined>,
  act: (client: HeraldClient, environment: PageEnvironment, person: Person, form: F, ids: number[]) => Promise<number[]>,
) {
  const done = doneOf[verb];
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { person, environment } = inEnvironment(request);
    const checked = check(form, request.body, '(form)');
    const back = safeNext(checked.problems ? undefined : checked.value.back);
    const refuse = (problems: InputProblem[]) => page(reply, 'refused', { title: `Not ${done}`, person, environment, problems, back }, 403);
    if (checked.problems) return refuse(checked.problems);
    if (!canResolve(person)) return refuse([{ field: 'user', message: `Monitor users read errors; they do not ${verb} them.` }]);
    // Only errors of this environment (hence of this account): any other id is not there for this person.
    const ids = await idsOf(environment, checked.value);
    if (!ids) return notFound(reply, person);
    if (ids.length === 0) return refuse([{ field: 'group', message: `The group has no open error left to ${verb}.` }]);
    try {
      const acted = await act(client, environment, person, checked.value, ids);
      return reply.redirect(withNotice(back, done, acted.length), 303);
    } catch (error) {
      // The client's refusals and the store's alike (a HeraldInputError is one).
      if (error instanceof InputRefusedError) return refuse(error.problems);
      throw error;
    }
  };
}

/** The errors a form selects one by one, if all are of this environment. */
const selected = (store: PageStore) => async (environment: PageEnvironment, form: { ids: number[] }) => {
  const known = await store.errors(environment, { limit: form.ids.length, ids: form.ids });
  return known.length === new Set(form.ids).size ? form.ids : undefined;
};

/** The open errors of the group a form names (S42), as many as one action takes. */
const ofGroup = (store: PageStore) => (environment: PageEnvironment, form: { flow: string; group: string }) =>
  store.openErrorsOfGroup(environment, form.flow, form.group, groupActionLimit);

/** The page to go back to, telling what this action did, and no longer what an earlier one did. */
function withNotice(back: string, done: Done, count: number): string {
  const target = new URL(back, 'http://herald.invalid');
  for (const notice of Object.values(doneOf)) target.searchParams.delete(notice);
  target.searchParams.set(done, String(count));
  return `${target.pathname}${target.search}`;
}

function stringEntries(filter: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(filter).filter(([key, value]) => value !== undefined && key !== 'before').map(([key, value]) => [key, String(value)]));
}
