/**
 * What a transport is (S43, S49): how an event reaches one kind of channel. Each kind of channel
 * (contracts/channel.ts) has one module that says it (slack.ts, teams.ts, webhook.ts, …), and
 * transports.ts lists them; sending, retrying and recording are the same for every channel and for email (notifications/send.ts).
 */
import type { ChannelMessage } from '../stores/channel-store.js';
import type { ChannelEvent, ErrorLine } from './events.js';

/** One HTTP POST. */
export interface ChannelRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** The message as a transport sees it: its ids, for receivers that drop what they took, and its channel. */
export type OutgoingMessage = Pick<ChannelMessage, 'id' | 'publicId' | 'channel'> & Partial<Pick<ChannelMessage, 'formerId'>>;

/** The links that act on an error line (S45), each with what it says: for a transport that shows them to people. */
export type LineActions = (line: ErrorLine) => { label: string; url: string }[];
export const noLineActions: LineActions = () => [];

export interface Transport {
  /**
   * The requests that tell `event` to the channel, posted in order; every one of them again on a
   * retry, so each must be one the receiver takes twice as once. None: the channel takes no such
   * event, and the message is cancelled with `declines`'s words. `actions`: the links its people
   * may act by, for a transport that shows them.
   */
  requests(event: ChannelEvent, message: OutgoingMessage, signedAt: Date, actions: LineActions): ChannelRequest[];
  /** Why a message is not posted when `requests` gives none. */
  declines?: string;
  /** A refusal in the receiver's own words, read from its answer, where the transport knows them. */
  refusal?(status: number, answer: string): string | undefined;
}

/** A transport that posts one JSON body to the channel's URL. */
export const oneJsonPost = (build: (event: ChannelEvent, actions: LineActions) => object): Transport => ({
  requests: (event, message, _signedAt, actions) => [{ url: message.channel.url, body: JSON.stringify(build(event, actions)), headers: {} }],
});
