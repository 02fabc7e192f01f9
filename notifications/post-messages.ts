/**
 * Posting to channels as a transport (S43, S49): a message readied by composing its kind's event
 * (once: every retry posts the same) and rendering it by its channel's transport, delivered by
 * posting it with a bounded wait, the receiver's answer read as every transport's is. Messages go
 * in a lane of their own, at most ten in flight (what a worker that dies may post twice, S33): a
 * slow or failing channel holds one of them and delays no email; what a channel refuses for now
 * waits for the environment's digest to try it again (S34).
 */
import type { Knex } from 'knex';
import { createChannelStore, type ChannelMessage, type ChannelStore } from '../stores/channel-store.js';
import { firstRetryWaitMs } from '../stores/retry-policy.js';
import { ClaimExpiredError } from '../email/mailer.js';
import { transports } from '../channels/transports.js';
import type { ChannelRequest, Transport } from '../channels/transport.js';
import { channelActionLinks } from '../channels/channel-actions.js';
import { defaultPostTimeoutMs, postMessage, type ChannelAgents, type PostOutcome } from '../channels/post.js';
import { eventOf } from './kinds.js';
import type { Delivered, NotificationJob, SendingLane } from './send.js';

export interface ChannelSending {
  db: Knex;
  appUrl: string;
  /** HERALD_SECRET: signs the links people act by from a message (S45). */
  secret: string;
  agents: ChannelAgents;
  timeoutMs?: number;
  /** Posts in flight at once (default {@link postsInFlight}): what a crash may post twice (S33). */
  concurrency?: number;
}

/**
 * Posts in flight at once, by default: what a worker that dies mid-round may have posted without
 * recording it, and so posts again (S33's bound, as the SMTP pool's connections are for emails).
 */
export const postsInFlight = 10;

/**
 * Posts a message's requests in order until one is not taken; answers how the last ended, a
 * refusal in the receiver's words where its transport reads them.
 */
async function post(transport: Transport, requests: ChannelRequest[], options: { agents: ChannelAgents; timeoutMs: number }): Promise<PostOutcome> {
  let outcome: PostOutcome = { outcome: 'sent', status: 0 };
  for (const request of requests) {
    outcome = await postMessage(request.url, request.body, request.headers, options);
    if (outcome.outcome === 'sent') continue;
    const said = outcome.status !== null && outcome.answer ? transport.refusal?.(outcome.status, outcome.answer) : undefined;
    return said ? { ...outcome, error: said } : outcome;
  }
  return outcome;
}

/** A channel message as a notification the sending loop posts, through its lane's `store`. */
function messageNotification(message: ChannelMessage, sending: ChannelSending, store: ChannelStore): NotificationJob {
  const timeoutMs = sending.timeoutMs ?? defaultPostTimeoutMs;
  return {
    id: message.id,
    kind: message.kind,
    transport: message.channel.kind,
    async prepare() {
      if (message.channel.removed) return { cancel: 'not sent: the channel was removed' };
      const event = await eventOf(sending, message);
      if (!message.event) await store.keepEvent(message.id, event);
      const transport = transports[message.channel.kind];
      const requests = transport.requests(event, message, new Date(), channelActionLinks(sending.appUrl, sending.secret, message));
      if (requests.length === 0) return { cancel: `not sent: ${transport.declines ?? 'the channel takes no such message'}` };
      return {
        async deliver(notAfter): Promise<Delivered> {
          if (Date.now() > notAfter) throw new ClaimExpiredError(Date.now() - notAfter);
          const outcome = await post(transport, requests, { agents: sending.agents, timeoutMs });
          return outcome.outcome === 'sent' ? { outcome: 'sent', status: outcome.status } : outcome;
        },
      };
    },
  };
}

/** The lane of these channel messages (those still pending), read once, posted at most {@link postsInFlight} at a time. */
export function postLane(ids: number[], sending: ChannelSending): SendingLane {
  const store = createChannelStore(sending.db);
  let queue: Promise<ChannelMessage[]> | undefined;
  const concurrency = sending.concurrency ?? postsInFlight;
  return {
    async next() {
      queue ??= store.toPost(ids);
      const message = (await queue).shift();
      return message && messageNotification(message, sending, store);
    },
    concurrency,
    slots: concurrency,
    firstRetryWaitMs: firstRetryWaitMs.channel,
  };
}
