/** What a channel (S43) and a subscription's target are, as the API, the catalog and the pages accept them. */
import { z } from 'zod';
import { rhythmSchema } from './rhythm.js';

/**
 * What each kind of channel is, as people put one: its name on the pages, and its secret — made
 * by Herald and answered once (a signed webhook's, though the platform may give it in the
 * catalog), given by whoever puts the channel (a PagerDuty integration key), or none. How a kind
 * is posted to is its transport's (channels/, listed in channels/transports.ts); a new kind is a line here and a module there.
 */
interface ChannelKindRule {
  title: string;
  secret: 'none' | 'made' | 'given';
  secretPattern?: RegExp;
  secretMessage?: string;
  /** What the secret looks like, in a word. */
  secretHint?: string;
}

const channelKindRules = {
  slack: { title: 'Slack (incoming webhook)', secret: 'none' },
  teams: { title: 'Microsoft Teams (workflow webhook)', secret: 'none' },
  webhook: {
    title: 'Signed webhook',
    secret: 'made',
    secretPattern: /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/,
    secretMessage: 'must be a Standard Webhooks secret: "whsec_" and at least 24 bytes in base64',
    secretHint: '"whsec_…"',
  },
  pagerduty: {
    title: 'PagerDuty (Events API v2)',
    secret: 'given',
    secretPattern: /^[A-Za-z0-9]{32}$/,
    secretMessage: 'must be the integration key of a PagerDuty Events API v2 integration: 32 letters and digits',
    secretHint: 'its integration key',
  },
} as const satisfies Record<string, ChannelKindRule>;

export type ChannelKind = keyof typeof channelKindRules;
export const channelKinds = Object.keys(channelKindRules) as [ChannelKind, ...ChannelKind[]];
const ruleOf = (kind: ChannelKind): ChannelKindRule => channelKindRules[kind];

/**
 * What is wrong with a channel's secret as put, if anything: one a kind has none of, one Herald
 * makes given through the API or a page (the catalog may give it), a given one missing from a
 * new channel, or one of the wrong form.
 */
export function channelSecretProblem(kind: ChannelKind, secret: string | null | undefined, put: { isNew: boolean; from: 'catalog' | 'api' }): string | undefined {
  const rule = ruleOf(kind);
  const given = secret !== undefined && secret !== null;
  if (rule.secret === 'none') return given ? `a ${kind} channel has no secret` : undefined;
  if (rule.secret === 'made' && put.from === 'api') return given ? `Herald makes a ${kind} channel's secret and answers it once, when the channel is made` : undefined;
  if (!given) return put.isNew ? `a new ${kind} channel needs its secret (${rule.secretHint})` : undefined;
  return rule.secretPattern!.test(secret) ? undefined : rule.secretMessage;
}

/** A kind's name in a sentence ("Slack", "PagerDuty"): its title without what follows in brackets; an unknown kind as it is. */
export const channelKindName = (kind: string): string => (kind in channelKindRules ? ruleOf(kind as ChannelKind).title.replace(/ \(.*\)$/, '') : kind);

/** The kinds a form offers (value and title), and the names of those whose key whoever saves the channel gives ("for PagerDuty"). */
export function channelKindChoices() {
  const kinds = channelKinds.map((kind) => ({ value: kind, title: ruleOf(kind).title, secret: ruleOf(kind).secret }));
  const given = kinds.filter((k) => k.secret === 'given').map((k) => channelKindName(k.value));
  return { kinds, givenSecrets: given.length > 0 ? `for ${given.join(', ')}` : '' };
}

/** Whether Herald makes this kind's secret when the channel is made (and answers it once). */
export const secretMadeByHerald = (kind: ChannelKind): boolean => ruleOf(kind).secret === 'made';

export const channelNameMessage = 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';
export const channelName = z.string({ error: channelNameMessage }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: channelNameMessage });

export const channelKind = z.enum(channelKinds, { error: `must be one of ${channelKinds.join(', ')}` });

/** A channel as put: its kind and its URL (checked against the address policy by whoever saves it). */
export const channelBody = z.strictObject({
  kind: channelKind,
  url: z.string({ error: 'must be the URL Slack, Teams or the receiver gave (https://…)' }).min(1, { error: 'must be the URL Slack, Teams or the receiver gave (https://…)' }),
  /** A secret the channel's kind takes from whoever puts it (a PagerDuty integration key); checked by {@link channelSecretProblem}. */
  secret: z.string({ error: 'must be text' }).optional(),
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
