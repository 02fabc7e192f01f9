/**
 * An account's channels and where its people's subscriptions go (S43), as the API, the catalog
 * and the pages change them: each change checked (a URL under the address policy, a channel of the
 * account) and audited. A webhook's secret is answered once, when the channel is made.
 */
import type { Knex } from 'knex';
import { channelUrlProblem, type ChannelAddressPolicy } from '../contracts/channel-url.js';
import { channelRhythms, createChannelStore, emailOnly, type Channel, type ChannelKind, type SubscriptionTarget } from '../stores/channel-store.js';
import type { Rhythm } from '../contracts/rhythm.js';
import { channelSecretProblem } from '../contracts/channel.js';
import type { InputProblem } from '../contracts/problems.js';
import { recordAudit } from '../stores/audit-store.js';
import { ChosenByUser, EntityConflict, EntityRefused, type EntityView, type PutResult } from './entities.js';

/** A channel as the API and pages show it: its URL only by its host (a Slack or Teams URL is a credential), and its own rhythm (S49; null: every cycle). */
export function channelView(channel: Channel, rhythm: Rhythm | null): EntityView {
  return { name: channel.name, kind: channel.kind, host: new URL(channel.url).host, rhythm, createdAt: channel.createdAt.toISOString() };
}

/** A channel's own rhythm (S49); null: every cycle. */
async function rhythmOf(db: Knex, channelId: number): Promise<Rhythm | null> {
  return (await channelRhythms(db, [channelId])).get(channelId) ?? null;
}

/** The account's channels as the API shows them. */
export async function channelViews(db: Knex, account: string): Promise<EntityView[]> {
  const channels = await createChannelStore(db).list(account);
  const rhythms = await channelRhythms(db, channels.map((c) => c.id));
  return channels.map((c) => channelView(c, rhythms.get(c.id) ?? null));
}

/** Makes or changes a channel; refuses a URL the policy forbids, a secret its kind does not take, and a change of kind. */
export async function putChannel(
  db: Knex,
  change: { actor: string; account: string; name: string; kind: ChannelKind; url: string; secret?: string; rhythm?: Rhythm | null; policy: ChannelAddressPolicy },
): Promise<PutResult & { secret?: string }> {
  const store = createChannelStore(db);
  const existing = await store.byName(change.account, change.name);
  const problems = [
    { field: 'url', message: channelUrlProblem(change.url, change.policy) },
    { field: 'secret', message: channelSecretProblem(change.kind, change.secret, { isNew: !existing, from: 'api' }) },
  ].filter((p): p is InputProblem => p.message !== undefined);
  if (problems.length > 0) throw new EntityRefused(problems);
  if (existing && existing.kind !== change.kind) {
    throw new EntityConflict(`channel "${change.name}" is a ${existing.kind} channel: remove it to make a ${change.kind} one of that name`);
  }
  const put = await store.put(change.account, { name: change.name, kind: change.kind, url: change.url, secret: change.secret, rhythm: change.rhythm });
  const entity = channelView(put.channel, await rhythmOf(db, put.channel.id));
  if (put.changed) await recordAudit(db, { account: change.account, actor: change.actor, action: put.created ? 'created' : 'changed', kind: 'channels', entity: change.name, detail: entity });
  return { entity, created: put.created, changed: put.changed, ...(put.secret && { secret: put.secret }) };
}

export async function removeChannel(db: Knex, change: { actor: string; account: string; name: string }): Promise<EntityView | undefined> {
  const store = createChannelStore(db);
  const channel = await store.byName(change.account, change.name);
  const rhythm = channel ? await rhythmOf(db, channel.id) : null;
  const removed = await store.remove(change.account, change.name);
  if (!removed) return undefined;
  await recordAudit(db, { account: change.account, actor: change.actor, action: 'removed', kind: 'channels', entity: change.name });
  return channelView(removed, rhythm);
}

async function personOf(db: Knex, account: string, environment: string, email: string) {
  const user = await db('users').where({ account_id: account, email: email.toLowerCase() }).whereNull('removed_at').first('id', 'email');
  const env = await db('environments').where({ account_id: account, id: environment }).first('id');
  return user && env ? { userId: Number(user.id), email: user.email as string } : undefined;
}

/** Where a person's subscriptions in an environment go. */
export async function readTarget(db: Knex, account: string, environment: string, email: string): Promise<EntityView | undefined> {
  const person = await personOf(db, account, environment, email);
  if (!person) return undefined;
  const { chosenOnPage, ...target } = await createChannelStore(db).target(person.userId, environment);
  return { environment, user: person.email, ...target, chosenByUser: chosenOnPage };
}

/**
 * Sets where a person's subscriptions in an environment go; refuses a channel the account does
 * not have. What the person chose on the settings page stands (409), unless they change it there (`onPage`).
 */
export async function putTarget(
  db: Knex,
  change: { actor: string; account: string; environment: string; email: string; body: SubscriptionTarget | null; onPage?: boolean },
): Promise<PutResult | undefined> {
  return db.transaction(async (trx) => {
    const person = await personOf(trx, change.account, change.environment, change.email);
    if (!person) return undefined;
    const store = createChannelStore(trx);
    if (!change.onPage && (await store.target(person.userId, change.environment)).chosenOnPage) {
      throw new ChosenByUser(`${person.email} chose where their subscriptions in ${change.environment} go on the settings page: it stands`);
    }
    const saved = await store.setTarget(trx, person.userId, change.account, change.environment, change.body ?? emailOnly, change.onPage ?? false);
    if (saved.unknownChannel) throw new EntityRefused([{ field: 'channel', message: `no channel "${saved.unknownChannel}" in this account` }]);
    const entity = (await readTarget(trx, change.account, change.environment, change.email))!;
    if (saved.changed) await recordAudit(trx, { account: change.account, actor: change.actor, action: 'changed', kind: 'targets', entity: `${change.environment}/${person.email}`, detail: entity });
    return { entity, created: false, changed: saved.changed };
  });
}
