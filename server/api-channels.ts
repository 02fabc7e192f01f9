/**
 * The API of channels (S43): an account's Slack, Teams and signed-webhook channels, where each
 * person's subscriptions go, and what Herald posted to channels ("messages").
 */
import { z } from 'zod';
import { channelBody, channelName, targetBody } from '../contracts/channel.js';
import { channelViews, putChannel, putTarget, readTarget, removeChannel } from '../admin/channels.js';
import { createChannelStore } from '../stores/channel-store.js';
import { versionOf } from '../admin/entities.js';
import { NotFound, newestFirstPage, newestFirstQuery, pageSize, route, Versioned, type ApiRoute } from './api-route.js';
import { subscriptionParams as targetParams } from './api-entities.js';

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
    summary: "What Herald posted to the account's channels, newest first: each message's status (pending, sent, failed, cancelled), attempts and the channel's last answer.",
    scope: 'read',
    query: newestFirstQuery,
    answers: '{ messages: [{ id, channel, channelKind, environment, kind, status, attempts, lastStatus, lastError, retryAt, createdAt, sentAt }], next? }',
    async handle({ account, query }, { db }) {
      const limit = pageSize(query);
      return newestFirstPage('messages', await createChannelStore(db).messages(account, { limit, before: query.before }), '/messages', limit);
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
