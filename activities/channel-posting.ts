/** Posting channel messages (S43) from inside an activity: on its clock, under its fence (S44), with its metrics. */
import type { Knex } from 'knex';
import { sendChannelMessages } from '../notifications/post-messages.js';
import type { ChannelAgents } from '../channels/post.js';
import { createChannelStore } from '../stores/channel-store.js';
import { channelMetrics } from './metrics.js';
import { activityClock, attemptFence } from './sending.js';
import { createDeliveryStore } from '../stores/delivery-store.js';

export interface ChannelPostingDeps {
  db: Knex;
  appUrl: string;
  /** HERALD_SECRET: signs the links people act by from a message (S45). */
  secret: string;
  /** The HTTP agents channel messages are posted with, which refuse addresses HERALD_CHANNEL_ALLOW does not allow. */
  channelAgents: ChannelAgents;
  /** How long a channel has to answer one message (default 10 s). */
  channelTimeoutMs?: number;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a channel refusing for now is tried again. */
  deliveryRetryLimitMs: number;
}

/** Posts channel messages in the current activity: these, or those of `of` still waiting for their first attempt. */
export function channelPoster(deps: ChannelPostingDeps) {
  const channels = createChannelStore(deps.db);
  const deliveries = createDeliveryStore(deps.db);
  // Under the attempt's fence (S44), the one its emails hold.
  const post = async (ids: number[], now = activityClock()) =>
    sendChannelMessages(ids, {
      db: deps.db,
      appUrl: deps.appUrl,
      secret: deps.secret,
      agents: deps.channelAgents,
      retryLimitMs: deps.deliveryRetryLimitMs,
      now,
      observe: channelMetrics(),
      timeoutMs: deps.channelTimeoutMs,
      fence: ids.length > 0 ? await attemptFence(deliveries) : undefined,
    });
  return {
    post,
    firstAttempts: async (of: Parameters<typeof channels.firstAttempts>[0]) => post(await channels.firstAttempts(of)),
  };
}
