/** Builds every activity the Herald worker registers, from the dependencies it owns. */
import type { Knex } from 'knex';
import { createErrorActivities } from './error-activities.js';
import { createDigestActivities } from './digest-activities.js';
import { createConnectionActivities } from './connection-activities.js';
import { createAssignmentActivities } from './assignment-activities.js';
import type { Mailer } from '../email/mailer.js';
import { asNamedRefusals } from './named-refusals.js';
import { createRetentionActivities } from './retention-activities.js';
import type { ChannelAgents } from '../channels/post.js';
import type { TellDigest } from '../stores/digest-news.js';

export interface ActivityDeps {
  db: Knex;
  mailer: Mailer;
  /** How long intermittent errors are retried (HERALD_RETRY_WINDOW). */
  retryWindowMs: number;
  /** Base of links in emails (HERALD_APP_URL). */
  appUrl: string;
  /** Signs the unsubscribe links of emails (HERALD_SECRET). */
  secret: string;
  digestPageSize?: number;
  /** HERALD_DIGEST_INTERVAL, in milliseconds. */
  digestIntervalMs: number;
  /** HERALD_CONNECTION_GRACE, in milliseconds. */
  connectionGraceMs: number;
  /** HERALD_DELIVERY_RETRY_LIMIT, in milliseconds: how long a recipient refused for now is tried again. */
  deliveryRetryLimitMs: number;
  /** HERALD_RETENTION, in milliseconds: what is older is deleted (S39). */
  retentionMs: number;
  /** Rows of each kind a retention round deletes (tests and the bench). */
  purgeBatchSize?: number;
  /** Tells an environment's digest that it has news (#40); the worker's Temporal client signals it. */
  tellDigest: TellDigest;
  /** The HTTP agents channel messages are posted with (S43): they refuse what HERALD_CHANNEL_ALLOW does not allow. */
  channelAgents: ChannelAgents;
  /** How long a channel has to answer one message (default 10 s; tests shorten it). */
  channelTimeoutMs?: number;
  now?: () => Date;
}

/** Every activity; a data error PostgreSQL raises in any of them is a named refusal, not retried (S35). */
export function createActivities(deps: ActivityDeps) {
  return asNamedRefusals({
    ...createErrorActivities(deps),
    ...createDigestActivities(deps),
    ...createConnectionActivities(deps),
    ...createAssignmentActivities(deps),
    ...createRetentionActivities(deps),
  });
}

export type HeraldActivities = ReturnType<typeof createActivities>;
