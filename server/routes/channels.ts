/**
 * The account's channels (S43), for owners and admins: Slack, Teams and signed webhooks, made and
 * removed here (a webhook's secret shown once, when made), and what Herald posted to them
 * ("messages", the account's counterpart of "my emails").
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { check } from '../../contracts/problems.js';
import { channelBody, channelKindChoices, channelKindName, channelName } from '../../contracts/channel.js';
import { channelViews, putChannel, removeChannel } from '../../admin/channels.js';
import { describeRhythm, type Rhythm } from '../../contracts/rhythm.js';
import { EntityConflict, EntityRefused, type EntityView } from '../../admin/entities.js';
import { createChannelStore, type NotificationView } from '../../stores/channel-store.js';
import { pageTime } from '../page-renderer.js';
import { mayAudit, notFound, page, signedIn, type PageDeps } from '../page.js';

/** The form: the API's body and the channel's name (the CSRF token aside). */
const channelForm = z.object({ ...channelBody.shape, name: channelName });
const messagesQuery = z.object({ before: z.coerce.number().int().positive().optional() }).catch({});
const pageSize = 100;

/** The channels as the page lists them: each with when its digests come, in words (S49). */
export function channelRows(views: EntityView[]) {
  return views.map((channel) => ({ ...channel, digests: channel.rhythm ? describeRhythm(channel.rhythm as Rhythm) : 'every digest cycle' }));
}


export function channelPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createChannelStore(deps.db);
  const channelsPage = async (person: ReturnType<typeof signedIn>, made?: { name: string; secret?: string }) => ({
    title: 'Channels',
    person,
    ...channelKindChoices(),
    channels: channelRows(await channelViews(deps.db, person.account)),
    ...(made && { made }),
  });

  app.get('/account/channels', async (request, reply) => {
    const person = signedIn(request);
    if (!mayAudit(person)) return notFound(reply, person);
    return page(reply, 'channels', await channelsPage(person));
  });

  app.post('/account/channels', { preHandler: app.csrfProtection }, async (request, reply) => {
    const person = signedIn(request);
    if (!mayAudit(person)) return notFound(reply, person);
    const back = '/account/channels';
    const form = check(channelForm, request.body ?? {}, '(form)');
    if (form.problems) return page(reply, 'refused', { title: 'Not saved', person, problems: form.problems, back }, 400);
    try {
      // The form's secret field is empty for kinds that take none.
      const { secret, ...fields } = form.value;
      const put = await putChannel(deps.db, { actor: person.email, account: person.account, ...fields, ...(secret && { secret }), policy: deps.channelPolicy });
      // The secret is shown on this answer alone: it is not kept where a page can read it again.
      return page(reply, 'channels', await channelsPage(person, { name: form.value.name, ...(put.secret && { secret: put.secret }) }));
    } catch (error) {
      if (error instanceof EntityRefused) return page(reply, 'refused', { title: 'Not saved', person, problems: error.problems, back }, 400);
      if (error instanceof EntityConflict) return page(reply, 'refused', { title: 'Not saved', person, problems: [{ field: 'kind', message: error.message }], back }, 409);
      throw error;
    }
  });

  app.post('/account/channels/:name/remove', { preHandler: app.csrfProtection }, async (request, reply) => {
    const person = signedIn(request);
    const name = channelName.safeParse((request.params as { name: string }).name);
    if (!mayAudit(person) || !name.success) return notFound(reply, person);
    if (!(await removeChannel(deps.db, { actor: person.email, account: person.account, name: name.data }))) return notFound(reply, person);
    return reply.redirect('/account/channels', 303);
  });

  app.get('/account/messages', async (request, reply) => {
    const person = signedIn(request);
    if (!mayAudit(person)) return notFound(reply, person);
    const { before } = messagesQuery.parse(request.query);
    // Everything the account's people and channels were sent (S49), one list.
    const messages = await store.messages(person.account, { limit: pageSize, before, to: 'all' });
    const last = messages.at(-1);
    return page(reply, 'messages', {
      title: 'Messages',
      wide: true,
      person,
      messages: messageLines(messages),
      ...(messages.length === pageSize && last && { next: `/account/messages?before=${last.id}` }),
    });
  });
}

/** The lines of the account's messages as the page shows them: to whom or where, by what, how it stands. */
export const messageLines = (messages: NotificationView[]) =>
  messages.map((m) => ({ ...m, statusText: statusText(m), to: m.channel ?? m.recipient ?? '', transportName: m.channelKind ? channelKindName(m.channelKind) : 'email' }));

function statusText(m: NotificationView): string {
  switch (m.status) {
    case 'sent':
      return 'Sent';
    case 'pending':
      if (m.heldUntil && !m.lastError) return `Held for the person's quiet hours, until ${pageTime(m.heldUntil)}`;
      return m.retryAt ? `Refused for now (${m.lastError ?? 'no answer'}); tried again` : 'Waiting to be sent';
    case 'cancelled':
      return m.lastError ?? 'Cancelled';
    default:
      return `Failed: ${m.lastError ?? `HTTP ${m.lastStatus}`}`;
  }
}
