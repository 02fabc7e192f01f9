/**
 * What a transport is (S43, S49): how an event reaches one kind of channel. Each kind of channel
 * (contracts/channel.ts) has one module that says it (slack.ts, teams.ts, webhook.ts, …), and
 * transports.ts lists them; sending, retrying and recording are the same for all (send-messages.ts).
 */
import type { ClaimedMessage } from '../stores/channel-store.js';
import type { ChannelEvent } from './events.js';

/** One HTTP POST. */
export interface ChannelRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** The message as a transport sees it: its ids, for receivers that drop what they took, and its channel. */
export type OutgoingMessage = Pick<ClaimedMessage, 'id' | 'publicId' | 'channel'>;

export interface Transport {
  /**
   * The requests that tell `event` to the channel, posted in order; every one of them again on a
   * retry, so each must be one the receiver takes twice as once. None: the channel takes no such
   * event, and the message is cancelled with `declines`'s words.
   */
  requests(event: ChannelEvent, message: OutgoingMessage, signedAt: Date): ChannelRequest[];
  /** Why a message is not posted when `requests` gives none. */
  declines?: string;
  /** A refusal in the receiver's own words, read from its answer, where the transport knows them. */
  refusal?(status: number, answer: string): string | undefined;
}

/** A transport that posts one JSON body to the channel's URL. */
export const oneJsonPost = (build: (event: ChannelEvent) => object): Transport => ({
  requests: (event, message) => [{ url: message.channel.url, body: JSON.stringify(build(event)), headers: {} }],
});
