/**
 * Posting channel messages (S43): each claimed for one attempt, its kind's event composed (once),
 * rendered by its channel's transport, posted with a bounded wait, and its outcome recorded.
 * Messages go side by side, at most ten in flight (what a worker that dies may post twice, S33): a
 * slow or failing channel holds one of them and delays no email; what a channel refuses for now
 * waits for the environment's digest to try it again (S34).
 */
import type { Knex } from 'knex';
import { createChannelStore } from '../stores/channel-store.js';
import type { SendFence } from '../stores/delivery-store.js';
import { claimFreshMs } from '../email/send-deliveries.js';
import { transports } from '../channels/transports.js';
import type { ChannelRequest, Transport } from '../channels/transport.js';
import { channelActionLinks } from '../channels/channel-actions.js';
import { defaultPostTimeoutMs, postMessage, type ChannelAgents, type PostOutcome } from '../channels/post.js';
import { eventOf } from './kinds.js';

export interface ChannelSending {
  db: Knex;
  appUrl: string;
  /** HERALD_SECRET: signs the links people act by from a message (S45). */
  secret: string;
  agents: ChannelAgents;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a channel refusing for now is tried again. */
  retryLimitMs: number;
  /** The clock retry times are written on (an activity's, which the digest's timers agree with). */
  now: () => Date;
  /** Each message's outcome, by channel kind and message kind (metrics). */
  observe?: (outcome: string, channel: string, kind: string) => void;
  timeoutMs?: number;
  /** The sending attempt's fence (S44): an attempt that lost it posts nothing more. */
  fence?: SendFence;
  /** Posts in flight at once (default {@link postsInFlight}): what a crash may post twice (S33). */
  concurrency?: number;
}

/**
 * Posts in flight at once, by default: what a worker that dies mid-round may have posted without
 * recording it, and so posts again (S33's bound, as the SMTP pool's connections are for emails).
 */
export const postsInFlight = 10;

export type ChannelTally = { sent: number; failed: number; deferred: number; cancelled: number };

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

/** Sends these messages, each once if it is still due; answers how they ended. */
export async function sendChannelMessages(ids: number[], sending: ChannelSending): Promise<ChannelTally> {
  const store = createChannelStore(sending.db);
  const timeoutMs = sending.timeoutMs ?? defaultPostTimeoutMs;
  const tally: ChannelTally = { sent: 0, failed: 0, deferred: 0, cancelled: 0 };
  const queue = [...ids];
  const postOne = async (id: number) => {
    const now = sending.now();
    // A claim is as old as the moment it was asked for: the process may stand still before it
    // reads the answer as well as after.
    const claimedAt = Date.now();
    // The lease outlasts the attempt: a worker that dies mid-post leaves the message deferred.
    const message = await store.claim(id, now, new Date(now.getTime() + timeoutMs + 60_000), sending.fence);
    // Another attempt took the sending over (S44): it posts what this one has not.
    if (!message || message === 'fenced') return;
    let ended: Awaited<ReturnType<typeof store.record>>;
    if (message.channel.removed) {
      ended = await store.record(id, message.attempts, { outcome: 'cancelled', status: null, error: 'not sent: the channel was removed' }, sending.now(), sending.retryLimitMs);
    } else {
      const event = await eventOf(sending, message);
      if (!message.event) await store.keepEvent(id, event);
      const transport = transports[message.channel.kind];
      const requests = transport.requests(event, message, new Date(), channelActionLinks(sending.appUrl, sending.secret, message));
      // A process that stood still since its claim (a pause after which another attempt may have
      // taken over) posts only while the fence is still its own; else the message waits out its lease.
      if (sending.fence && Date.now() - claimedAt > claimFreshMs && !(await store.holds(sending.fence))) return;
      const outcome: Parameters<typeof store.record>[2] =
        requests.length > 0
          ? await post(transport, requests, { agents: sending.agents, timeoutMs })
          : { outcome: 'cancelled', status: null, error: `not sent: ${transport.declines ?? 'the channel takes no such message'}` };
      ended = await store.record(id, message.attempts, outcome, sending.now(), sending.retryLimitMs);
    }
    tally[ended] += 1;
    sending.observe?.(ended, message.channel.kind, message.kind);
  };
  // Side by side, a bounded number at a time: each runner takes the next message when its post ends.
  const runner = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await postOne(id);
  };
  await Promise.all(Array.from({ length: Math.min(sending.concurrency ?? postsInFlight, queue.length) }, runner));
  return tally;
}
