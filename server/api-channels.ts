/**
 * The API of channels (S43): an account's Slack, Teams and signed-webhook channels, where each
 * person's subscriptions go, what Herald posted to channels ("messages"), and every notification
 * a person was sent, by email or to their channel (S49), as their own page lists it.
 */
import { z } from 'zod';
import { channelBody, channelName, targetBody } from '../contracts/channel.js';
import { channelViews, putChannel, putTarget, readTarget, removeChannel } from '../admin/channels.js';
import { createChannelStore } from '../stores/channel-store.js';
import { versionOf } from '../admin/entities.js';
import { NotFound, newestFirstPage, newestFirstQuery, pageSize, route, Versioned, type ApiRoute } from './api-route.js';
import { subscriptionParams as targetParams, userParams } from './api-entities.js';
import { createPageStore } from '../stores/page-store.js';

const nameParams = z.strictObject({ name: channelName });
const found = (entity: Record<string, unknown> | undefined, missing: string) => {
  if (!entity) throw new NotFound(missing);
  return new Versioned(entity, versionOf(entity));
};

export const channelRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    url: '/channels',
    summary: "The account's channels (S43): name, kind (slack, teams, webhook) and the host they post to (a channel's URL is a credential: never answered).",
    scope: 'read',
    answers: '{ channels: [{ name, kind, host, rhythm, createdAt }] }',
    async handle({ account }, { db }) {
      return { channels: await channelViews(db, account) };
    },
  }),
  route({
    method: 'PUT',
    url: '/channels/:name',
    summary:
      'Make or change a channel (S43): a Slack incoming webhook, a Teams workflow webhook, a signed webhook (Standard Webhooks), or PagerDuty (the Events API v2 URL, with the integration key as `secret`; never answered back). The URL must be HTTPS on a public address. A new webhook channel answers its signing secret (`whsec_…`) once: keep it. An optional `rhythm` (S49), as a person\'s, says when its digests come (`null`: every cycle again; absent: as it was).',
    scope: 'manage',
    params: nameParams,
    body: channelBody,
    answers: 'the channel (201 when made; a new webhook channel with its `secret`, this once), its version as ETag',
    async handle({ account, actor, params, body }, { db, channelPolicy }) {
      const put = await putChannel(db, { actor, account, name: params.name, kind: body.kind, url: body.url, secret: body.secret, rhythm: body.rhythm, policy: channelPolicy });
      return new Versioned({ ...put.entity, ...(put.secret && { secret: put.secret }) }, versionOf(put.entity), put.created ? 201 : 200);
    },
  }),
  route({
    method: 'DELETE',
    url: '/channels/:name',
    summary: 'Remove a channel: its messages not yet sent are cancelled, and subscriptions that went to it go to email.',
    scope: 'manage',
    params: nameParams,
    answers: 'the channel as it was',
    async handle({ account, actor, params }, { db }) {
      return found(await removeChannel(db, { actor, account, name: params.name }), `no channel "${params.name}"`);
    },
  }),
  route({
    method: 'GET',
    url: '/messages',
    summary:
      "What Herald posted to the account's channels (`to=channels`, the default), emailed its people (`to=people`), or both (`to=all`), newest first (S49): each notification's transport, where it went, status (pending, sent, failed, cancelled), attempts and the last answer.",
    scope: 'read',
    query: newestFirstQuery.extend({ to: z.enum(['channels', 'people', 'all'], { error: 'must be channels, people or all' }).optional() }),
    answers: '{ messages: [{ id, transport, channel, channelKind, recipient, environment, kind, status, attempts, lastStatus, lastError, retryAt, heldUntil, createdAt, sentAt }], next? }',
    async handle({ account, query }, { db }) {
      const limit = pageSize(query);
      const to = query.to ?? 'channels';
      return newestFirstPage('messages', await createChannelStore(db).messages(account, { limit, before: query.before, to }), '/messages', limit, query.to ? { to } : {});
    },
  }),
  route({
    method: 'GET',
    url: '/users/:email/messages',
    summary:
      "Every notification Herald sent a user, or tried to, newest first (S27, S49), as their own page lists it: each email, and each post for them to the channel their subscriptions in an environment go to, with its kind (digest, connection, reminder, assignment, weekly), transport (email, slack, teams, webhook, pagerduty), status and why it stands so.",
    scope: 'read',
    params: userParams,
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).optional() }),
    answers: '{ messages: [{ kind, transport, environment, cycle, at, status, subject, channel, lastError, sentAt, heldUntil, retryAt }] }',
    async handle({ account, params, query }, { db }) {
      const user = await db('users').where({ account_id: account, email: params.email }).first('id');
      if (!user) throw new NotFound(`no user "${params.email}"`);
      const lines = await createPageStore(db).emails({ id: Number(user.id), account }, query.limit ?? 100, { sentOnly: true });
      return {
        messages: lines.map((line) => ({
          kind: line.kind,
          transport: line.post?.channelKind ?? 'email',
          environment: line.environment,
          cycle: line.cycle,
          at: line.at,
          status: line.status,
          subject: line.post ? null : line.subject,
          channel: line.post?.channel ?? null,
          lastError: line.lastError,
          sentAt: line.sentAt,
          heldUntil: line.heldUntil,
          retryAt: line.post?.retryAt ?? null,
        })),
      };
    },
  }),
  route({
    method: 'PUT',
    url: '/environments/:environment/targets/:email',
    summary: "Where a user's subscriptions in an environment go (S43): their email, one of the account's channels, or both.",
    scope: 'manage',
    params: targetParams,
    body: targetBody,
    answers: '{ environment, user, email, channel }, its version as ETag',
    async handle({ account, actor, params, body }, { db }) {
      const put = await putTarget(db, { actor, account, environment: params.environment, email: params.email, body });
      return found(put?.entity, `no user "${params.email}" or environment "${params.environment}"`);
    },
  }),
  route({
    method: 'GET',
    url: '/environments/:environment/targets/:email',
    summary: "Where a user's subscriptions in an environment go (email alone unless set).",
    scope: 'read',
    params: targetParams,
    answers: '{ environment, user, email, channel }, its version as ETag',
    async handle({ account, params }, { db }) {
      return found(await readTarget(db, account, params.environment, params.email), `no user "${params.email}" or environment "${params.environment}"`);
    },
  }),
];
