/** What a channel (S43) and a subscription's target are, as the API, the catalog and the pages accept them. */
import { z } from 'zod';
import { rhythmSchema } from './rhythm.js';

export const channelKinds = ['slack', 'teams', 'webhook'] as const;
export type ChannelKind = (typeof channelKinds)[number];

export const channelNameMessage = 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';
export const channelName = z.string({ error: channelNameMessage }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: channelNameMessage });

export const channelKind = z.enum(channelKinds, { error: `must be one of ${channelKinds.join(', ')}` });

/** A channel as put: its kind and its URL (checked against the address policy by whoever saves it). */
export const channelBody = z.strictObject({
  kind: channelKind,
  url: z.string({ error: 'must be the URL Slack, Teams or the receiver gave (https://…)' }).min(1, { error: 'must be the URL Slack, Teams or the receiver gave (https://…)' }),
  /** When its digests come (S49), as a person's rhythm; absent, every cycle. */
  rhythm: rhythmSchema.nullish(),
});

/** Where a person's subscriptions in an environment go: email, a channel of the account, or both; never nowhere. */
export const targetBody = z
  .strictObject({
    email: z.boolean({ error: 'must be true or false' }),
    channel: channelName.nullable(),
  })
  .refine((t) => t.email || t.channel !== null, { error: 'must send somewhere: email true, or a channel', path: ['email'] });
