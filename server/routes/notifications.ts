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
import { describeRhythm, rhythmSchema } from '../../contracts/rhythm.js';
import { describeWeeklyReview, weekdays, weeklyReviewSchema, type WeeklyReview } from '../../contracts/weekly-review.js';
import { targetBody } from '../../contracts/channel.js';
import { createChannelStore } from '../../stores/channel-store.js';
import { putTarget } from '../../admin/channels.js';
import { EntityRefused } from '../../admin/entities.js';

const manyIds = z.union([z.string(), z.array(z.string())]).optional().transform((ids) => (ids === undefined ? [] : [ids].flat()));
const settingsForm = z.object({ user: z.string().optional(), flows: manyIds, integrations: manyIds, connections: manyIds });
const settingsQuery = z.object({ user: z.string().optional(), saved: z.string().optional() }).catch({});
/** The rhythm form (S41): its fields as the page names them; the rhythm's own schema checks the rest. */
const rhythmForm = z.object({
  user: z.string().optional(),
  every: z.string().optional(),
  at: z.string().optional(),
  timeZone: z.string().optional(),
  quiet: z.string().optional(),
  quietFrom: z.string().optional(),
  quietTo: z.string().optional(),
  quietConnectionEmails: z.string().optional(),
});
/** The weekly review form (S47); the review's own schema checks the fields. */
const weeklyForm = z.object({ user: z.string().optional(), on: z.string().optional(), day: z.string().optional(), at: z.string().optional() });
/** Where subscriptions go (S43): email on or off, and a channel of the account ("" for none). */
const targetForm = z.object({ user: z.string().optional(), email: z.string().optional(), channel: z.string().optional() });
/** IANA time zones the page offers (the field takes any the rhythm's schema takes). */
const timeZones = Intl.supportedValuesOf('timeZone');
const mayOpenOthers = (person: Person) => person.role === 'owner' || person.role === 'admin';

/** A person's weekly review (S47) as the settings page's form shows it. */
export function weeklyReviewForm(review: WeeklyReview, timeZone: string) {
  return {
    ...review,
    timeZone,
    described: describeWeeklyReview(review, timeZone),
    days: weekdays.map((day) => ({ value: day, name: `${day[0]!.toUpperCase()}${day.slice(1)}`, chosen: day === review.day })),
  };
}

export function notificationPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);
  const settings = createSettingsStore(deps.db);
  const channels = createChannelStore(deps.db);

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
    const { rhythm } = await settings.rhythm(subject.id, environment.id);
    const target = await channels.target(subject.id, environment.id);
    const weekly = await settings.weeklyReview(subject.id, environment.id);
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
      rhythm: {
        ...rhythm,
        at: rhythm.at ?? '08:00',
        described: describeRhythm(rhythm),
        [`is_${rhythm.every}`]: true,
        quiet: rhythm.quietHours ?? { from: '22:00', to: '07:00', connectionEmails: true },
        quietOn: rhythm.quietHours !== null && rhythm.quietHours !== undefined,
      },
      timeZones,
      rhythmSaved: query.saved === 'rhythm',
      weeklyReview: weeklyReviewForm(weekly.review, weekly.timeZone),
      weeklySaved: query.saved === 'weekly-review',
      target,
      channels: (await channels.list(person.account)).map((c) => ({ name: c.name, kind: c.kind, chosen: c.name === target.channel })),
      targetSaved: query.saved === 'target',
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

  // The rhythm of a person's digests (S41): every cycle, hourly or daily, in their time zone,
  // with quiet hours. Saved apart from what they follow.
  app.post('/notifications/rhythm', { preHandler: app.csrfProtection }, async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const back = `/environments/${environment.id}/notifications`;
    const form = check(rhythmForm, request.body ?? {}, '(form)');
    if (form.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: form.problems, back }, 400);
    const f = form.value;
    const rhythm = check(
      rhythmSchema,
      {
        every: f.every,
        ...(f.every === 'day' && { at: f.at }),
        timeZone: f.timeZone,
        quietHours: f.quiet === 'on' ? { from: f.quietFrom, to: f.quietTo, connectionEmails: f.quietConnectionEmails === 'on' } : null,
      },
      'rhythm',
    );
    if (rhythm.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: rhythm.problems, back }, 400);
    const subject = await subjectOf(person, f.user);
    if (!subject) return notFound(reply, person);
    await settings.saveRhythm(subject.id, environment.id, rhythm.value, person.id);
    const userQuery = subject.id === person.id ? '' : `&user=${subject.id}`;
    return reply.redirect(`${back}?saved=rhythm${userQuery}`, 303);
  });

  // The weekly review (S47): on or off, its day and time in the time zone of the person's digests.
  app.post('/notifications/weekly-review', { preHandler: app.csrfProtection }, async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const back = `/environments/${environment.id}/notifications`;
    const form = check(weeklyForm, request.body ?? {}, '(form)');
    if (form.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: form.problems, back }, 400);
    const review = check(weeklyReviewSchema, { on: form.value.on === 'on', day: form.value.day, at: form.value.at }, 'weeklyReview');
    if (review.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: review.problems, back }, 400);
    const subject = await subjectOf(person, form.value.user);
    if (!subject) return notFound(reply, person);
    await settings.saveWeeklyReview(subject.id, environment.id, review.value, person.id);
    const userQuery = subject.id === person.id ? '' : `&user=${subject.id}`;
    return reply.redirect(`${back}?saved=weekly-review${userQuery}#weekly-review`, 303);
  });

  // Where a person's subscriptions go (S43): email, one of the account's channels, or both.
  app.post('/notifications/target', { preHandler: app.csrfProtection }, async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const back = `/environments/${environment.id}/notifications`;
    const form = check(targetForm, request.body ?? {}, '(form)');
    if (form.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: form.problems, back }, 400);
    const target = check(targetBody, { email: form.value.email === 'on', channel: form.value.channel ? form.value.channel : null }, 'target');
    if (target.problems) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: target.problems, back }, 400);
    const subject = await subjectOf(person, form.value.user);
    if (!subject) return notFound(reply, person);
    try {
      await putTarget(deps.db, { actor: person.email, account: person.account, environment: environment.id, email: subject.email, body: target.value, onPage: true });
    } catch (error) {
      if (error instanceof EntityRefused) return page(reply, 'refused', { title: 'Not saved', person, environment, problems: error.problems, back }, 400);
      throw error;
    }
    const userQuery = subject.id === person.id ? '' : `&user=${subject.id}`;
    return reply.redirect(`${back}?saved=target${userQuery}`, 303);
  });
}
