/**
 * Sending channel messages (S43): each claimed for one attempt, composed (once), rendered in its
 * channel's format, posted with a bounded wait, and its outcome recorded. Messages go at once,
 * side by side: a slow or failing channel delays neither email nor another channel; what a
 * channel refuses for now waits for the environment's digest to try it again (S34).
 */
import type { Knex } from 'knex';
import { Webhook } from 'standardwebhooks';
import { createChannelStore, type ClaimedMessage } from '../stores/channel-store.js';
import { channelComposer } from './compose.js';
import { slackMessage } from './slack.js';
import { teamsMessage } from './teams.js';
import { defaultPostTimeoutMs, postMessage, type ChannelAgents } from './post.js';
import type { ChannelEvent } from './events.js';

export interface ChannelSending {
  db: Knex;
  appUrl: string;
  agents: ChannelAgents;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a channel refusing for now is tried again. */
  retryLimitMs: number;
  /** The clock retry times are written on (an activity's, which the digest's timers agree with). */
  now: () => Date;
  /** Each message's outcome, by channel kind and message kind (metrics). */
  observe?: (outcome: string, channel: string, kind: string) => void;
  timeoutMs?: number;
}

export type ChannelTally = { sent: number; failed: number; deferred: number; cancelled: number };

/** The request a channel gets for an event: its body and headers (a webhook's signed per Standard Webhooks). */
export function channelRequest(message: Pick<ClaimedMessage, 'id' | 'publicId' | 'channel'>, event: ChannelEvent, signedAt = new Date()): { body: string; headers: Record<string, string> } {
  switch (message.channel.kind) {
    case 'slack':
      return { body: JSON.stringify(slackMessage(event)), headers: {} };
    case 'teams':
      return { body: JSON.stringify(teamsMessage(event)), headers: {} };
    case 'webhook': {
      const body = JSON.stringify(event);
      // The same id on every attempt, and no other message's anywhere: a consumer drops what it already took.
      const id = `msg_${message.publicId ?? message.id}`;
      const signature = new Webhook(message.channel.secret!).sign(id, signedAt, body);
      return { body, headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)), 'webhook-signature': signature } };
    }
  }
}

/** Sends these messages, each once if it is still due; answers how they ended. */
export async function sendChannelMessages(ids: number[], sending: ChannelSending): Promise<ChannelTally> {
  const store = createChannelStore(sending.db);
  const composer = channelComposer(sending.db, sending.appUrl);
  const timeoutMs = sending.timeoutMs ?? defaultPostTimeoutMs;
  const tally: ChannelTally = { sent: 0, failed: 0, deferred: 0, cancelled: 0 };
  await Promise.all(
    ids.map(async (id) => {
      const now = sending.now();
      // The lease outlasts the attempt: a worker that dies mid-post leaves the message deferred.
      const message = await store.claim(id, now, new Date(now.getTime() + timeoutMs + 60_000));
      if (!message) return;
      let ended: Awaited<ReturnType<typeof store.record>>;
      if (message.channel.removed) {
        ended = await store.record(id, message.attempts, { outcome: 'cancelled', status: null, error: 'not sent: the channel was removed' }, sending.now(), sending.retryLimitMs);
      } else {
        const event = await composer.eventOf(message);
        if (!message.event) await store.keepEvent(id, event);
        const { body, headers } = channelRequest(message, event);
        const outcome = await postMessage(message.channel.url, body, headers, { agents: sending.agents, timeoutMs });
        ended = await store.record(id, message.attempts, outcome, sending.now(), sending.retryLimitMs);
      }
      tally[ended] += 1;
      sending.observe?.(ended, message.channel.kind, message.kind);
    }),
  );
  return tally;
}
