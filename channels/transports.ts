/** Every kind of channel's transport (contracts/channel.ts lists the kinds; the compiler holds the two lists together). */
import type { ChannelKind } from '../contracts/channel.js';
import type { Transport } from './transport.js';
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
