/**
 * Acting from an email (S45). A link of an email opens a page that says what it will do, and does
 * it on one button (a POST with the page's CSRF token): a mail scanner that follows every link
 * changes nothing. No sign-in: the signed link is the authority, for its recipient alone, until it
 * is used or its email is 7 days old. It acts through the same paths as the pages, as done by its
 * recipient "from an email".
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { emailActionLifetimeMs, readEmailActionToken, type EmailActionLink } from '../../email/email-actions.js';
import { createEmailActionStore, type ActionError } from '../../stores/email-action-store.js';
import { createPageStore, type PageEnvironment } from '../../stores/page-store.js';
import { createPeopleStore, type Person } from '../../stores/people-store.js';
import { createSnoozeStore } from '../../stores/snooze-store.js';
import { InputRefusedError } from '../../contracts/problems.js';
import { groupLabel } from '../../stores/fingerprint.js';
import { groupActionLimit, page, type PageDeps } from '../page.js';
import { snoozeEnd } from '../../contracts/snooze.js';


interface UsableLink {
  link: EmailActionLink;
  person: Person;
  environment: PageEnvironment;
  error: ActionError;
  /** The errors it acts on now: the error, or its group's open ones. */
  ids: number[];
  /** What it will do, or did, in words. */
  what: string;
  /** The error's page, where the person acts once the link no longer does. */
  errorUrl: string;
}

const verbs = { resolve: ['Resolve', 'resolved'], snooze: ['Snooze for a day', 'snoozed for a day'], assign: ['Assign to yourself', 'assigned to you'] } as const;

export function actPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createEmailActionStore(deps.db);
  const people = createPeopleStore(deps.db);
  const pages = createPageStore(deps.db);
  const snoozes = createSnoozeStore(deps.db);
  const clock = deps.clock ?? (() => new Date());

  const refuse = (reply: FastifyReply, status: 403 | 410, heading: string, message: string, person?: Person, errorUrl?: string) =>
    page(reply, 'act', { title: heading, person, state: 'refused', heading, message, errorUrl }, status);

  /** The link's action as it stands now, or the page that says why it does nothing (nothing left to do included). */
  const usable = async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply): Promise<UsableLink | FastifyReply> => {
    const notValid = () => refuse(reply, 403, 'This link does not work', 'It was altered, or it is not a link of an email Herald sent you. Nothing was changed.', request.person);
    const link = readEmailActionToken(deps.secret, request.params.token);
    if (!link) return notValid();
    const [email, person] = await Promise.all([store.email(link.emailId, link.userId), people.person(link.userId)]);
    const environment = email && person && (await pages.environment(person.account, email.environment));
    if (!email || !person || !environment) return notValid();
    // Someone signed in as another person follows a link emailed to this one.
    if (request.person && request.person.id !== person.id) {
      return refuse(reply, 403, 'This link is not yours', `It was emailed to ${person.email}; you are signed in as ${request.person.email}. Nothing was changed.`, request.person);
    }
    const error = await store.error(email.environment, link.errorId);
    if (!error) return refuse(reply, 410, 'This error is no longer kept', 'Herald keeps errors for a while after they are resolved; this one is gone. Nothing was changed.', request.person);
    const errorUrl = `/environments/${encodeURIComponent(environment.id)}/errors/${error.id}`;
    const done = await store.done(link);
    if (done) {
      const count = `${done.errors} error${done.errors === 1 ? '' : 's'}`;
      return page(reply, 'act', { title: 'Already done', person: request.person, state: 'already', heading: 'Already done', message: `You ${verbs[link.action][1]} ${count} by this link on ${done.doneAt.toUTCString()}. Nothing more to do.`, errorUrl });
    }
    if (clock().getTime() - email.createdAt.getTime() > emailActionLifetimeMs) {
      return refuse(reply, 410, 'This link has expired', `The links of an email act for 7 days; this one was sent on ${email.createdAt.toUTCString()}. Open the error to act on it there.`, request.person, errorUrl);
    }
    if (person.role === 'monitor') {
      return refuse(reply, 403, 'Not yours to change', `${person.email} is a monitor user: monitors read errors; they do not ${link.action} them. Nothing was changed.`, request.person, errorUrl);
    }
    const ids =
      link.target === 'group'
        ? await pages.openErrorsOfGroup(environment, error.flowId, error.groupKey, groupActionLimit)
        : ['open', 'retrying'].includes(error.status)
          ? [error.id]
          : [];
    const what =
      link.target === 'group'
        ? `${ids.length} open error${ids.length === 1 ? '' : 's'} like "${groupLabel(error.message, error.groupKey)}" in ${error.flowName}`
        : `"${error.message}" (trace key ${error.traceKey}) in ${error.flowName}`;
    if (ids.length === 0) {
      return page(reply, 'act', { title: 'Nothing to do', person: request.person, state: 'already', heading: 'Nothing to do', message: `${what} is ${error.status.replace('_', '-')}: there is nothing left to ${link.action}.`, errorUrl });
    }
    return { link, person, environment, error, ids, what, errorUrl };
  };

  const act = async (found: UsableLink): Promise<number[]> => {
    const { link, person, environment, error, ids } = found;
    const request = { environment: environment.id, user: person.email, via: 'email' as const };
    switch (link.action) {
      case 'resolve':
        return deps.client.resolveErrors({ ...request, errorIds: ids });
      case 'assign':
        return deps.client.assignErrors({ ...request, errorIds: ids, assignee: person.email });
      case 'snooze': {
        const now = clock();
        const target = link.target === 'group' ? { group: { flow: error.flowId, key: error.groupKey } } : { errorIds: ids };
        const snoozed = await snoozes.snooze({ ...request, ...target, until: snoozeEnd({ for: '1 day' }, now) }, now);
        if (snoozed.tellDigest) await deps.client.tellDigest(environment.id);
        return snoozed.errors;
      }
    }
  };

  app.get<{ Params: { token: string } }>('/act/:token', async (request, reply) => {
    const found = await usable(request, reply);
    if (!('link' in found)) return found;
    const { link, what, person, errorUrl } = found;
    return page(reply, 'act', { title: verbs[link.action][0], person: request.person, state: 'ask', heading: `${verbs[link.action][0]}?`, message: `${verbs[link.action][0]} ${what}, as ${person.email}.`, token: request.params.token, errorUrl });
  });

  app.post<{ Params: { token: string } }>('/act/:token', { preHandler: app.csrfProtection }, async (request, reply) => {
    const found = await usable(request, reply);
    if (!('link' in found)) return found;
    const { what, link, errorUrl } = found;
    try {
      const acted = await store.once(link, () => act(found));
      if (acted === undefined) return reply.redirect(`/act/${request.params.token}`, 303);
      const count = `${acted.length} error${acted.length === 1 ? '' : 's'}`;
      return page(reply, 'act', { title: 'Done', person: request.person, state: 'done', heading: 'Done', message: `${count} ${verbs[link.action][1]}: ${what}.`, errorUrl });
    } catch (failure) {
      if (failure instanceof InputRefusedError) return refuse(reply, 403, 'Not done', `${failure.problems.map((p) => p.message).join(' ')} Nothing was changed.`, request.person, errorUrl);
      throw failure;
    }
  });
}
