/**
 * Acting from an email or a channel's message (S45). A link opens a page that says what it will
 * do, and does it on one button (a POST with the page's CSRF token): a mail scanner or a chat's
 * link preview that follows every link changes nothing. An email's link needs no sign-in: it is
 * the authority, for its recipient alone, until it is used or its email is 7 days old. A Slack or
 * Teams message is read by many, so its link names no person: whoever follows it signs in and
 * acts as themselves, if their role allows, for 7 days from the message. Either acts through the
 * same paths as the pages, as done by that person "from an email" (or "from Slack", …).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { emailActionLifetimeMs, readEmailActionToken, type EmailActionLink } from '../../email/email-actions.js';
import { readChannelActionToken } from '../../channels/channel-actions.js';
import { createEmailActionStore, type ActionError } from '../../stores/email-action-store.js';
import { createPageStore, type PageEnvironment } from '../../stores/page-store.js';
import { createPeopleStore, type Person } from '../../stores/people-store.js';
import { createSnoozeStore } from '../../stores/snooze-store.js';
import { InputRefusedError } from '../../contracts/problems.js';
import { actionSources, type ActionSource } from '../../contracts/email-action.js';
import { groupLabel } from '../../stores/fingerprint.js';
import { groupActionLimit, page, type PageDeps } from '../page.js';
import { snoozeEnd } from '../../contracts/snooze.js';

/** Who acts by a link, on what it was sent in, and how its one use is kept. */
interface Authority {
  person: Person;
  environment: PageEnvironment;
  sentAt: Date;
  via: ActionSource;
  /** Its one use: the email (or message) by its public id, the person who acts, the action and its target. */
  use: EmailActionLink;
}

interface UsableLink extends Authority {
  error: ActionError;
  /** The errors it acts on now: the error, or its group's open ones. */
  ids: number[];
  /** What it will do, or did, in words. */
  what: string;
  /** For a group: one real message of it, beside its pattern. */
  example?: string;
  /** The error's page, where the person acts once the link no longer does. */
  errorUrl: string;
}

/** "1 error", "3 errors". */
const errorCount = (n: number) => `${n} error${n === 1 ? '' : 's'}`;

const verbs = { resolve: ['Resolve', 'resolved'], snooze: ['Snooze for a day', 'snoozed for a day'], assign: ['Assign to yourself', 'assigned to you'] } as const;

export function actPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createEmailActionStore(deps.db);
  const people = createPeopleStore(deps.db);
  const pages = createPageStore(deps.db);
  const snoozes = createSnoozeStore(deps.db);
  const clock = deps.clock ?? (() => new Date());

  const refuse = (reply: FastifyReply, status: 403 | 410, heading: string, message: string, person?: Person, errorUrl?: string) =>
    page(reply, 'act', { title: heading, person, state: 'refused', heading, message, errorUrl }, status);

  const notValid = (request: FastifyRequest, reply: FastifyReply) =>
    refuse(reply, 403, 'This link does not work', 'It was altered, or it is not a link of a message Herald sent. Nothing was changed.', request.person);

  /** Who the link lets act, or the page that says it lets nobody (or asks to sign in first, for a channel's link). */
  const authority = async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply): Promise<Authority | FastifyReply> => {
    const { token } = request.params;
    const emailed = readEmailActionToken(deps.secret, token);
    if (emailed) {
      const [email, person] = await Promise.all([store.email(emailed.emailId, emailed.userId), people.person(emailed.userId)]);
      const environment = email && person && (await pages.environment(person.account, email.environment));
      if (!email || !person || !environment) return notValid(request, reply);
      // Someone signed in as another person follows a link emailed to this one.
      if (request.person && request.person.id !== person.id) {
        return refuse(reply, 403, 'This link is not yours', `It was emailed to ${person.email}; you are signed in as ${request.person.email}. Nothing was changed.`, request.person);
      }
      return { person, environment, sentAt: email.createdAt, via: 'email', use: emailed };
    }
    const posted = readChannelActionToken(deps.secret, token);
    const message = posted && (await store.channelMessage(posted.messageId, posted.channelId));
    if (!posted || !message || !actionSources.includes(message.channelKind as ActionSource)) return notValid(request, reply);
    const person = request.person;
    if (!person) return reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`, 303);
    const environment = await pages.environment(person.account, message.environment);
    if (!environment) {
      return refuse(reply, 403, 'This link is not for you', `It was posted for another account than ${person.email}'s. Nothing was changed.`, person);
    }
    const { messageId, action, target, errorId } = posted;
    return { person, environment, sentAt: message.createdAt, via: message.channelKind as ActionSource, use: { userId: person.id, emailId: messageId, action, target, errorId } };
  };

  /** The link's action as it stands now, or the page that says why it does nothing (nothing left to do included). */
  const usable = async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply): Promise<UsableLink | FastifyReply> => {
    const found = await authority(request, reply);
    if (!('use' in found)) return found;
    const { person, environment, sentAt, use: link } = found;
    const error = await store.error(environment.id, link.errorId);
    if (!error) return refuse(reply, 410, 'This error is no longer kept', 'Herald keeps errors for a while after they are resolved; this one is gone. Nothing was changed.', request.person);
    const errorUrl = `/environments/${encodeURIComponent(environment.id)}/errors/${error.id}`;
    const done = await store.done(link);
    if (done) {
      return page(reply, 'act', { title: 'Already done', person: request.person, state: 'already', heading: 'Already done', message: `You ${verbs[link.action][1]} ${errorCount(done.errors)} by this link on ${done.doneAt.toUTCString()}. Nothing more to do.`, errorUrl });
    }
    if (clock().getTime() - sentAt.getTime() > emailActionLifetimeMs) {
      const of = found.via === 'email' ? 'an email' : 'a message';
      return refuse(reply, 410, 'This link has expired', `The links of ${of} act for 7 days; this one was sent on ${sentAt.toUTCString()}. Open the error to act on it there.`, request.person, errorUrl);
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
    const example = link.target === 'group' ? `"${error.message}" (trace key ${error.traceKey})` : undefined;
    if (ids.length === 0) {
      return page(reply, 'act', { title: 'Nothing to do', person: request.person, state: 'already', heading: 'Nothing to do', message: `${what} is ${error.status.replace('_', '-')}: there is nothing left to ${link.action}.`, example, errorUrl });
    }
    return { ...found, error, ids, what, example, errorUrl };
  };

  const act = async (found: UsableLink): Promise<number[]> => {
    const { use: link, person, environment, error, ids, via } = found;
    const request = { environment: environment.id, user: person.email, via };
    switch (link.action) {
      case 'resolve':
        return deps.client.resolveErrors({ ...request, errorIds: ids });
      case 'assign':
        return deps.client.assignErrors({ ...request, errorIds: ids, assignee: person.email });
      case 'snooze': {
        const now = clock();
        const target = link.target === 'group' ? { group: { flow: error.flowId, key: error.groupKey } } : { errorIds: ids };
        return (await snoozes.snooze({ ...request, ...target, until: snoozeEnd({ for: '1 day' }, now) }, now, (env) => deps.client.tellDigest(env))).errors;
      }
    }
  };

  app.get<{ Params: { token: string } }>('/act/:token', async (request, reply) => {
    const found = await usable(request, reply);
    if (!('use' in found)) return found;
    const { use: link, what, example, person, errorUrl } = found;
    return page(reply, 'act', { title: verbs[link.action][0], person: request.person, state: 'ask', heading: `${verbs[link.action][0]}?`, message: `${verbs[link.action][0]} ${what}, as ${person.email}.`, example, token: request.params.token, errorUrl });
  });

  app.post<{ Params: { token: string } }>('/act/:token', { preHandler: app.csrfProtection }, async (request, reply) => {
    const found = await usable(request, reply);
    if (!('use' in found)) return found;
    const { what, example, use: link, errorUrl } = found;
    try {
      const acted = await store.once(link, () => act(found));
      if (acted === undefined) return reply.redirect(`/act/${request.params.token}`, 303);
      return page(reply, 'act', { title: 'Done', person: request.person, state: 'done', heading: 'Done', message: `${errorCount(acted.length)} ${verbs[link.action][1]}: ${what}.`, example, errorUrl });
    } catch (failure) {
      if (failure instanceof InputRefusedError) return refuse(reply, 403, 'Not done', `${failure.problems.map((p) => p.message).join(' ')} Nothing was changed.`, request.person, errorUrl);
      throw failure;
    }
  });
}
