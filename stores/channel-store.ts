/**
 * Channels in PostgreSQL (S43): an account's channels, where each person's subscriptions go
 * (email, a channel, or both), and the messages Herald posts to channels. A message is planned
 * once under its key, in the same transaction as what it tells of (a digest cycle's fix, a
 * connection change), and sent as every notification is (notifications/send.ts): claimed under its
 * sending's fence, so that an attempt that dies leaves it pending for the attempt that takes over.
 */
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { followedFlowsSql } from './followed-flows.js';
import { digestDue, nextFixFor, rhythmOfRow, rowOfRhythm, type RhythmAtFix } from './rhythm.js';
import { inNullableRangeSql, newInRangeSql, resolvedInRangeSql } from './cycle-ranges.js';
import type { Rhythm } from '../contracts/rhythm.js';

import { secretMadeByHerald, type ChannelKind } from '../contracts/channel.js';

export type ChannelMessageKind = 'digest' | 'connection' | 'reminder' | 'assignment';

export type { ChannelKind };

export interface Channel {
  id: number;
  name: string;
  kind: ChannelKind;
  url: string;
  createdAt: Date;
}

/** Where a person's subscriptions in an environment go: their email, one of the account's channels, or both. */
export interface SubscriptionTarget {
  email: boolean;
  channel: string | null;
}

/** A target as stored, and whether the person chose it on the settings page (it then stands against the catalog and the API). */
export interface StoredTarget extends SubscriptionTarget {
  chosenOnPage: boolean;
}

export const emailOnly: SubscriptionTarget = { email: true, channel: null };

/** A message to a channel, with its channel. */
export interface ChannelMessage {
  id: number;
  /** Its id for receivers (a webhook's `webhook-id`): unique across installations and restores, the same on every attempt; none for a message planned before such ids. */
  publicId: string | null;
  /** The number a message planned before public ids was known by to receivers (its `msg_<n>`), from before messages joined the outbox. */
  formerId: number | null;
  kind: ChannelMessageKind;
  environmentId: string;
  cycleId: number | null;
  /** A digest's range began after this cycle (the channel's own rhythm, S49); null: its cycle alone. */
  sinceCycleId: number | null;
  connectionEventId: number | null;
  assignmentEventId: number | null;
  /** A reminder's time (its errors were open past the threshold then). */
  plannedAt: Date | null;
  flowIds: string[];
  newCount: number;
  resolvedCount: number;
  openCount: number;
  event: unknown;
  channel: { id: number; kind: ChannelKind; url: string; secret: string | null; removed: boolean };
}

/** A notification as the account's "messages" shows it: a post to a channel, or an email to a person. */
export interface NotificationView {
  id: number;
  /** `email`, or the channel's kind. */
  transport: string;
  /** The channel it was posted to (none for an email). */
  channel: string | null;
  channelKind: ChannelKind | null;
  /** The address an email went to (none for a post). */
  recipient: string | null;
  environment: string;
  kind: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  retryAt: Date | null;
  /** An email held by its person's quiet hours until then (S49). */
  heldUntil: Date | null;
  createdAt: Date;
  sentAt: Date | null;
}

/** A new signed webhook's secret, in the Standard Webhooks form (`whsec_` and 32 random bytes in base64). */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** Channels of an account, by name (not removed). */
const liveChannels = (db: Knex, account: string) => db('channels').where({ account_id: account }).whereNull('removed_at');

const toChannel = (r: Record<string, unknown>): Channel => ({
  id: Number(r.id),
  name: r.name as string,
  kind: r.kind as ChannelKind,
  url: r.url as string,
  createdAt: r.created_at as Date,
});

export function createChannelStore(db: Knex) {
  /** The outbox's messages to channels. */
  const channelMessages = () => db('notifications').whereNotNull('channel_id');
  const store = {
    async list(account: string): Promise<Channel[]> {
      return (await liveChannels(db, account).orderBy('name')).map(toChannel);
    },

    async byName(account: string, name: string): Promise<Channel | undefined> {
      const row = await liveChannels(db, account).where({ name }).first();
      return row ? toChannel(row) : undefined;
    },

    /**
     * Makes or changes the account's channel of this name. A new channel whose kind's secret Herald
     * makes (a signed webhook) gets one, answered here once (`secret`); a secret given (a PagerDuty
     * key) is kept, and changed when given again; a changed kind is refused by the caller. A `rhythm` (S49)
     * is set, null puts it back to every cycle, none leaves it. Answers whether anything changed.
     */
    async put(account: string, put: { name: string; kind: ChannelKind; url: string; secret?: string; rhythm?: Rhythm | null }): Promise<{ channel: Channel; created: boolean; changed: boolean; secret?: string }> {
      return db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`herald.channels.${account}`]);
        const existing = await liveChannels(trx, account).where({ name: put.name }).first();
        if (existing) {
          const rhythmChanged = put.rhythm !== undefined && (await setChannelRhythm(trx, Number(existing.id), put.rhythm));
          const change = { ...(existing.url !== put.url && { url: put.url }), ...(put.secret !== undefined && put.secret !== existing.secret && { secret: put.secret }) };
          if (Object.keys(change).length === 0) return { channel: toChannel(existing), created: false, changed: rhythmChanged };
          const [row] = await trx('channels').where({ id: existing.id }).update(change).returning('*');
          return { channel: toChannel(row), created: false, changed: true };
        }
        // A secret Herald makes is answered this once; one given is the giver's already.
        const made = secretMadeByHerald(put.kind) ? newWebhookSecret() : undefined;
        const [row] = await trx('channels').insert({ account_id: account, name: put.name, kind: put.kind, url: put.url, secret: made ?? put.secret ?? null }).returning('*');
        if (put.rhythm) await setChannelRhythm(trx, Number(row.id), put.rhythm);
        return { channel: toChannel(row), created: true, changed: true, ...(made && { secret: made }) };
      });
    },

    /** Removes a channel: its pending messages are cancelled, and subscriptions that went to it go to email alone. */
    async remove(account: string, name: string): Promise<Channel | undefined> {
      return db.transaction(async (trx) => {
        const [row] = await liveChannels(trx, account).where({ name }).update({ removed_at: trx.fn.now() }).returning('*');
        if (!row) return undefined;
        await trx('notifications').where({ channel_id: row.id, status: 'pending' }).update({ status: 'cancelled', last_error: 'not sent: the channel was removed', retry_at: null });
        await trx('subscription_targets').where({ channel_id: row.id }).update({ channel_id: null, email: true });
        return toChannel(row);
      });
    },

    async target(userId: number, environment: string): Promise<StoredTarget> {
      const row = await db('subscription_targets as t')
        .leftJoin('channels as c', 'c.id', 't.channel_id')
        .where({ 't.user_id': userId, 't.environment_id': environment })
        .first('t.email', 'c.name', 't.chosen_on_page');
      return row ? { email: row.email, channel: row.name ?? null, chosenOnPage: row.chosen_on_page } : { ...emailOnly, chosenOnPage: false };
    },

    /**
     * Sets where a person's subscriptions in an environment go (`onPage`: the person chose it on
     * the settings page); the channel must be one of the account's (else answers its name back
     * as unknown). Email alone, not chosen on the page, leaves no row.
     */
    async setTarget(trx: Knex, userId: number, account: string, environment: string, target: SubscriptionTarget, onPage = false): Promise<{ unknownChannel?: string; changed: boolean }> {
      const channel = target.channel === null ? undefined : await liveChannels(trx, account).where({ name: target.channel }).first('id');
      if (target.channel !== null && !channel) return { unknownChannel: target.channel, changed: false };
      const before = await store.target(userId, environment);
      if (before.email === target.email && before.channel === target.channel && before.chosenOnPage === onPage) return { changed: false };
      if (target.email && target.channel === null && !onPage) {
        await trx('subscription_targets').where({ user_id: userId, environment_id: environment }).delete();
      } else {
        await trx('subscription_targets')
          .insert({ user_id: userId, environment_id: environment, email: target.email, channel_id: channel?.id ?? null, chosen_on_page: onPage })
          .onConflict(['environment_id', 'user_id'])
          .merge();
      }
      return { changed: true };
    },

    /**
     * The account's notifications, newest first (S43, S49): its messages to channels, its emails to
     * people, or both. Each says where it went: a channel (and its kind) or a person's address.
     */
    async messages(account: string, options: { limit: number; before?: number; to?: 'channels' | 'people' | 'all' }): Promise<NotificationView[]> {
      const query = db('notifications as m')
        .leftJoin('channels as c', 'c.id', 'm.channel_id')
        .join('environments as e', 'e.id', 'm.environment_id')
        .where('e.account_id', account)
        .orderBy('m.id', 'desc')
        .limit(options.limit)
        .select('m.*', 'c.name as channel_name', 'c.kind as channel_kind', 'e.name as environment_name');
      const to = options.to ?? 'channels';
      if (to === 'channels') query.whereNotNull('m.channel_id');
      if (to === 'people') query.whereNull('m.channel_id');
      if (options.before !== undefined) query.where('m.id', '<', options.before);
      return (await query).map((r) => ({
        id: Number(r.id),
        transport: r.channel_kind ?? 'email',
        channel: r.channel_name ?? null,
        channelKind: r.channel_kind ?? null,
        recipient: r.channel_id === null ? r.recipient : null,
        environment: r.environment_name,
        kind: r.kind,
        status: r.status,
        attempts: r.attempts,
        lastStatus: r.last_status,
        lastError: r.last_error,
        retryAt: r.retry_at,
        heldUntil: r.held_until,
        createdAt: r.created_at,
        sentAt: r.sent_at,
      }));
    },

    /** The messages of a cycle, a connection change, an assignment or an environment's reminders waiting for their first attempt. */
    async firstAttempts(
      of: { cycle_id: number } | { connection_event_id: number } | { assignment_event_id: number } | { environment_id: string; kind: 'reminder' },
    ): Promise<number[]> {
      return (await channelMessages().where({ ...of, status: 'pending' }).whereNull('retry_at').orderBy('id').pluck('id')).map(Number);
    },

    /** These messages, still pending, with their channels, in the order given: to be posted, each claimed as it goes (stores/delivery-store.ts). */
    async toPost(ids: number[]): Promise<ChannelMessage[]> {
      if (ids.length === 0) return [];
      const rows = await db('notifications as m')
        .join('channels as c', 'c.id', 'm.channel_id')
        .whereIn('m.id', ids)
        .where('m.status', 'pending')
        .orderByRaw('array_position(?::bigint[], m.id)', [ids])
        .select('m.*', db.raw('row_to_json(c) as channel'));
      return rows.map((r) => ({
        id: Number(r.id),
        publicId: r.public_id,
        formerId: r.former_id === null ? null : Number(r.former_id),
        kind: r.kind,
        environmentId: r.environment_id,
        cycleId: r.cycle_id === null ? null : Number(r.cycle_id),
        sinceCycleId: r.since_cycle_id === null ? null : Number(r.since_cycle_id),
        connectionEventId: r.connection_event_id === null ? null : Number(r.connection_event_id),
        assignmentEventId: r.assignment_event_id === null ? null : Number(r.assignment_event_id),
        plannedAt: r.planned_at,
        flowIds: r.flow_ids,
        newCount: r.new_count,
        resolvedCount: r.resolved_count,
        openCount: r.open_count,
        event: r.event,
        channel: { id: Number(r.channel.id), kind: r.channel.kind, url: r.channel.url, secret: r.channel.secret, removed: r.channel.removed_at !== null },
      }));
    },

    /** Keeps the event a message was first composed as: every retry posts the same. */
    async keepEvent(id: number, event: unknown): Promise<void> {
      await db('notifications').where({ id }).whereNull('event').update({ event: JSON.stringify(event) });
    },
  };
  return store;
}

export type ChannelStore = ReturnType<typeof createChannelStore>;

/**
 * Sets a channel's own rhythm (S49), or (null) puts it back to every cycle; says whether that
 * changed it. A new rhythm counts from now: its first digest tells from then on.
 */
export async function setChannelRhythm(db: Knex, channelId: number, rhythm: Rhythm | null): Promise<boolean> {
  const stored = await db('channel_rhythms').where({ channel_id: channelId }).first();
  const wanted = rhythm && rowOfRhythm(rhythm);
  if (!wanted) {
    if (!stored) return false;
    await db('channel_rhythms').where({ channel_id: channelId }).delete();
    await db('channel_digest_progress').where({ channel_id: channelId }).delete();
    return true;
  }
  const { quiet_connection_emails: _personal, ...columns } = wanted;
  if (stored && Object.entries(columns).every(([key, value]) => stored[key] === value)) return false;
  await db('channel_rhythms').insert({ channel_id: channelId, ...columns, chosen_at: db.fn.now() }).onConflict('channel_id').merge();
  await db('channel_digest_progress').where({ channel_id: channelId }).delete();
  return true;
}

/** The own rhythms (S49) of these channels; those without one take every cycle. */
export async function channelRhythms(db: Knex, channelIds: number[]): Promise<Map<number, Rhythm>> {
  const rows = await db('channel_rhythms').whereIn('channel_id', channelIds).select('*');
  return new Map(rows.map((row) => [Number(row.channel_id), rhythmOfRow(row)]));
}

/** Each channel of `:environment` that people's subscriptions go to, with the flows they follow there (`channel_id`, `flow_ids`). */
const channelFlowsSql = `
  select t.channel_id, array_agg(distinct f.flow_id order by f.flow_id) as flow_ids
    from (${followedFlowsSql}) f
    join subscription_targets t on t.user_id = f.user_id and t.environment_id = :environment
    join channels c on c.id = t.channel_id and c.removed_at is null
   group by t.channel_id`;

/** Whether any person's subscriptions in the environment go to a channel. */
async function sendsToChannels(db: Knex, environment: string): Promise<boolean> {
  return (await db('subscription_targets').where({ environment_id: environment }).whereNotNull('channel_id').first('user_id')) !== undefined;
}

/**
 * SQL true for an error `e` of which the channel of message `cm` was told as new: an earlier digest
 * message to the channel, not failed, whose flows hold its flow, of the cycle that announced it or
 * of a range of cycles (the channel's own rhythm, S49) that holds that cycle.
 */
const channelToldSql = `exists (select 1 from notifications told
  where told.channel_id = cm.channel_id and told.kind = 'digest' and told.status in ('pending', 'sent') and e.flow_id = any(told.flow_ids)
    and told.cycle_id < cm.cycle_id
    and (told.cycle_id = e.notified_cycle_id
         or (told.since_cycle_id < e.notified_cycle_id and told.cycle_id > e.notified_cycle_id)))`;

/** SQL true for an error `e` told as new by a digest message `cm` of cycle `cm.cycle_id` whose range began after `cm.since_cycle_id` (null: its cycle alone). */
export const channelNewSql = inNullableRangeSql(newInRangeSql, 'cm.since_cycle_id', 'e', 'cm.cycle_id');

/** The resolved errors a channel digest message tells of (`cm`: the message's row): newly resolved in its range, and told to the channel as new. */
export const channelResolvedSql = `e.flow_id = any(cm.flow_ids)
  and ${inNullableRangeSql(resolvedInRangeSql, 'cm.since_cycle_id', 'e', 'cm.cycle_id')}
  and ${channelToldSql}`;

/** A flow a digest message tells of, with what it tells of it and the flow's errors open now. */
export interface DigestFlowCount {
  id: string;
  name: string;
  integration: string;
  newErrors: number;
  resolvedErrors: number;
  openErrors: number;
}

/** The flows a digest message tells of (new or resolved errors in its range), by name, at most `limit`. */
export async function digestMessageFlows(db: Knex, messageId: number, environment: string, limit: number): Promise<DigestFlowCount[]> {
  const { rows } = await db.raw(
    `select * from (
       select f.id, f.name, i.name as integration,
              count(*) filter (where ${channelNewSql})::int as new_errors,
              count(*) filter (where ${channelResolvedSql})::int as resolved_errors,
              count(*) filter (where e.status = 'open')::int as open_errors
         from (select channel_id, flow_ids, cycle_id, since_cycle_id from notifications where id = :id) cm
         join flows f on f.id = any(cm.flow_ids)
         join integrations i on i.id = f.integration_id
         join errors e on e.flow_id = f.id and e.environment_id = :environment
        group by f.id, f.name, i.name) counted
      where new_errors > 0 or resolved_errors > 0
      order by name, id
      limit :limit`,
    { id: messageId, environment, limit },
  );
  return rows.map((r: Record<string, unknown>) => ({
    id: r.id as string,
    name: r.name as string,
    integration: r.integration as string,
    newErrors: r.new_errors as number,
    resolvedErrors: r.resolved_errors as number,
    openErrors: r.open_errors as number,
  }));
}

/**
 * Plans a cycle's channel messages, in the transaction that fixes it: one per channel that the
 * subscriptions of the environment's people go to, about the flows they follow, when it has news
 * for it (new errors, or resolved ones it was told of). A channel with a rhythm of its own (S49)
 * is posted to only at the cycles it is due at `at`, telling what is new and resolved since its
 * last digest there; the rest take every cycle.
 */
export async function planDigestMessages(
  trx: Knex,
  environment: string,
  cycleId: number,
  at: Date,
  lastNewsCycleId: () => Promise<number>,
): Promise<{ count: number; heldUntil: Date | null }> {
  // Most environments send to no channel: their fix pays one index lookup for it.
  if (!(await sendsToChannels(trx, environment))) return { count: 0, heldUntil: null };
  const rhythms = await trx('channel_rhythms as r')
    .join('channels as c', 'c.id', 'r.channel_id')
    .leftJoin('channel_digest_progress as p', (join) => join.on('p.channel_id', 'r.channel_id').andOnVal('p.environment_id', environment))
    .whereNull('c.removed_at')
    .where('c.account_id', trx('environments').where({ id: environment }).select('account_id'))
    .select('r.*', 'p.last_due_at', 'p.last_due_cycle_id');
  // A channel of a rhythm first seen here tells from the cycle before this one on.
  const unseen = rhythms.filter((row) => row.last_due_cycle_id === null).map((row) => Number(row.channel_id));
  if (unseen.length > 0) {
    await trx.raw(
      `insert into channel_digest_progress (channel_id, environment_id, last_due_cycle_id, last_due_at)
       select r.channel_id, :environment,
              coalesce((select max(dc.id) from digest_cycles dc where dc.environment_id = :environment and dc.id < :cycle), 0), r.chosen_at
         from channel_rhythms r where r.channel_id = any(:unseen::bigint[])
       on conflict (channel_id, environment_id) do nothing`,
      { environment, cycle: cycleId, unseen },
    );
  }
  const atFix: RhythmAtFix[] = rhythms.map((row) => {
    const [rhythm, lastDueAt] = [rhythmOfRow(row), row.last_due_at ?? row.chosen_at];
    return { rhythm, due: digestDue(rhythm, lastDueAt, at), lastDueAt, lastDueCycleId: Number(row.last_due_cycle_id ?? 0) };
  });
  const due = rhythms.filter((_, i) => atFix[i]!.due).map((row) => Number(row.channel_id));
  const notDue = rhythms.filter((_, i) => !atFix[i]!.due).map((row) => Number(row.channel_id));
  // When the digest must fix next for them (#40), by the rule persons follow.
  const heldUntil = await nextFixFor(atFix, at, lastNewsCycleId);
  const { rows } = await trx.raw(
    `with targeted as (${channelFlowsSql}),
     scoped as (
       -- A channel of a rhythm tells since its last due cycle here; the rest, this cycle alone.
       select tg.channel_id, tg.flow_ids, :cycle::bigint as cycle_id, case when r.channel_id is null then null else p.last_due_cycle_id end as since_cycle_id
         from targeted tg
         left join channel_rhythms r on r.channel_id = tg.channel_id
         left join channel_digest_progress p on p.channel_id = tg.channel_id and p.environment_id = :environment
        where not (tg.channel_id = any(:notDue::bigint[]))),
     counted as (
       select cm.channel_id, cm.flow_ids, cm.since_cycle_id,
              (select count(*) from errors e where e.environment_id = :environment and e.flow_id = any(cm.flow_ids) and ${channelNewSql}) as new_count,
              (select count(*) from errors e where e.environment_id = :environment and ${channelResolvedSql}) as resolved_count,
              (select coalesce(sum(o.open - o.retrying), 0) from error_open_counts o where o.environment_id = :environment and o.flow_id = any(cm.flow_ids)) as open_count
         from scoped cm)
     insert into notifications (channel_id, environment_id, kind, key, cycle_id, since_cycle_id, flow_ids, new_count, resolved_count, open_count)
     select channel_id, :environment, 'digest', 'digest:' || :cycle || ':' || channel_id, :cycle, since_cycle_id, flow_ids, new_count, resolved_count, open_count
       from counted where new_count > 0 or resolved_count > 0
     on conflict (key) do nothing
     returning id`,
    { environment, cycle: cycleId, notDue },
  );
  // Those due here: their next digest tells from this cycle on.
  if (due.length > 0) {
    await trx.raw(
      `insert into channel_digest_progress (channel_id, environment_id, last_due_cycle_id, last_due_at)
       select unnest(:due::bigint[]), :environment, :cycle, :at
       on conflict (channel_id, environment_id) do update set last_due_cycle_id = excluded.last_due_cycle_id, last_due_at = excluded.last_due_at`,
      { due, environment, cycle: cycleId, at: at.toISOString() },
    );
  }
  return { count: rows.length, heldUntil };
}

/** Plans a connection change's channel messages: one per channel a subscriber of the connection sends to (per environment that sees it). */
export async function planConnectionMessages(trx: Knex, eventId: number, connection: string): Promise<number> {
  const { rows } = await trx.raw(
    `insert into notifications (channel_id, environment_id, kind, key, connection_event_id)
     select distinct t.channel_id, s.environment_id, 'connection', 'connection:' || :event || ':' || s.environment_id || ':' || t.channel_id, :event::bigint
       from subscriptions s
       join users u on u.id = s.user_id and u.removed_at is null
       join environments e on e.id = s.environment_id and e.account_id = u.account_id
       join connections c on c.id = s.connection_id and c.resource_group = e.resource_group
       join subscription_targets t on t.user_id = u.id and t.environment_id = s.environment_id
       join channels ch on ch.id = t.channel_id and ch.removed_at is null
      where s.connection_id = :connection
     on conflict (key) do nothing
     returning id`,
    { event: eventId, connection },
  );
  return rows.length;
}

/** Plans an assignment's channel message: to the channel the assignee's subscriptions in the environment go to, if any. */
export async function planAssignmentMessages(trx: Knex, eventId: number, environment: string, assigneeId: number): Promise<number> {
  const { rows } = await trx.raw(
    `insert into notifications (channel_id, environment_id, kind, key, assignment_event_id)
     select t.channel_id, t.environment_id, 'assignment', 'assignment:' || :event || ':' || t.channel_id, :event::bigint
       from subscription_targets t join channels c on c.id = t.channel_id and c.removed_at is null
      where t.user_id = :assignee and t.environment_id = :environment
     on conflict (key) do nothing
     returning id`,
    { event: eventId, environment, assignee: assigneeId },
  );
  return rows.length;
}

/**
 * Plans the environment's channel reminders at `now` (S31): one a day per channel that people's
 * subscriptions go to, about the errors of their flows open past the environment's threshold
 * (`staleSql`: SQL true for such an error `e` at `:now`). Keyed by the channel and the day.
 */
export async function planReminderMessages(db: Knex, environment: string, now: Date, staleSql: string): Promise<number> {
  if (!(await sendsToChannels(db, environment))) return 0;
  const { rows } = await db.raw(
    `with targeted as (${channelFlowsSql}),
     counted as (
       select tg.channel_id, tg.flow_ids, (select count(*) from errors e where ${staleSql} and e.flow_id = any(tg.flow_ids)) as n from targeted tg)
     insert into notifications (channel_id, environment_id, kind, key, flow_ids, open_count, planned_at)
     select channel_id, :environment, 'reminder', 'reminder:' || :environment || ':' || channel_id || ':' || to_char(:now::timestamptz at time zone 'UTC', 'YYYY-MM-DD'),
            flow_ids, n, :now::timestamptz
       from counted where n > 0
     on conflict (key) do nothing
     returning id`,
    { environment, now: now.toISOString() },
  );
  return rows.length;
}
