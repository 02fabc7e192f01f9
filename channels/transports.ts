/** Every kind of channel's transport (contracts/channel.ts lists the kinds; the compiler holds the two lists together). */
import type { ChannelKind } from '../contracts/channel.js';
import { noLineActions, type ChannelRequest, type LineActions, type OutgoingMessage, type Transport } from './transport.js';
import type { ChannelEvent } from './events.js';
import { slackTransport } from './slack.js';
import { teamsTransport } from './teams.js';
import { webhookTransport } from './webhook.js';
import { pagerDutyTransport } from './pagerduty.js';

export const transports: Record<ChannelKind, Transport> = {
  slack: slackTransport,
  teams: teamsTransport,
  webhook: webhookTransport,
  pagerduty: pagerDutyTransport,
};

/** The requests a channel gets for an event, as its kind's transport makes them (a webhook's signed per Standard Webhooks). */
export function channelRequests(message: OutgoingMessage, event: ChannelEvent, signedAt = new Date(), actions: LineActions = noLineActions): ChannelRequest[] {
  return transports[message.channel.kind].requests(event, message, signedAt, actions);
}
