/**
 * What the pages read (S21, S26): an account's environments, its errors with filters and keyset
 * pages, one error with what surrounds it, a connection with its history. Every read is scoped to
 * one account: anything of another account reads as not there (S23).
 */
import type { Knex } from 'knex';
import { groupKeySql, groupLabel, inGroup } from './fingerprint.js';
import type { ErrorStatus } from '../contracts/errors.js';
import { errorRowColumns, followedFlowsSql, toErrorRow, type DigestErrorRow } from './digest-store.js';
import { createConnectionStore } from './connection-store.js';
import type { DeliveryKind } from './delivery-store.js';
import type { ActionSource } from '../contracts/email-action.js';

export interface PageEnvironment {
  id: string;
  name: string;
  production: boolean;
  resourceGroup: string;
}

export interface ErrorPageFilter {
  flow?: string;
  integration?: string;
  status?: ErrorStatus;
  traceKey?: string;
  /** Only the flows this user follows in the environment ("see all open errors" of a digest). */
  followedBy?: number;
  /** Errors that occurred at or after / before these times. */
  since?: Date;
  until?: Date;
  /** Keyset pagination: errors older than this id. */
  before?: number;
  /** Only these errors. */
  ids?: number[];
  /** Only the errors of this group (S42): their fingerprint. */
  group?: string;
  limit: number;
}

/** One group of errors (S42) as the errors page lists it: counts within the page's filter. */
export interface ErrorGroupRow {
  flowId: string;
  flowName: string;
  fingerprint: string;
  /** What the group reads as: its pattern, or its first message where the flow named the group. */
  label: string;
  /** The message of its latest error: a real example beside the pattern. */
  latestMessage: string;
  count: number;
  open: number;
  firstSeen: Date;
  lastSeen: Date;
}

/** An error as the pages list it: a digest's error row (without the digest's per-flow count), with its status. */
export interface ErrorRow extends Omit<DigestErrorRow, 'flowCount'> {
  status: ErrorStatus;
}

export interface ErrorDetail extends ErrorRow {
  errorKey: string;
  reportId: string;
  record: unknown;
  /** The digest cycle that announced it, if one has. */
  announcedIn: { number: number; at: Date } | null;
  /** The snooze it sleeps under (S46): until a time, or until so many more of it. */
  snooze: { until: Date | null; eventsLeft: number | null; by: string; via: ActionSource | null } | null;
  /** Other errors of the same trace key in the flow, newest first. */
  sameTraceKey: ErrorRow[];
}

export interface ConnectionPage {
  id: string;
  name: string;
  status: 'online' | 'offline' | null;
  since: Date | null;
  reason: string | null;
  history: { status: 'online' | 'offline'; reason: string | null; changedAt: Date }[];
  usedBy: { integration: string; flows: string[] }[];
}

/** One line of "My messages" (S27): an email Herald sent (or tried to), or a digest cycle without one. */
export interface EmailLine {
  kind: DeliveryKind;
  at: Date;
  environment: string;
  environmentName: string;
  /** The digest cycle's number. */
  cycle: number | null;
  deliveryId: number | null;
  status: 'pending' | 'sent' | 'failed' | 'cancelled' | null;
  subject: string | null;
  lastError: string | null;
  sentAt: Date | null;
  /** Held by the person's quiet hours until then (S49). */
  heldUntil: Date | null;
  /** For cycles without an email: the user followed flows, and nothing in them was new or resolved. */
  nothingNew: boolean;
  /** For cycles without an email: how many there were in a row, the first's number, and the last's (`cycle`). */
  quietCycles: number;
  firstCycle: number | null;
  /** Not an email: a post to the channel the person's subscriptions go to (S43, S49), with how it went (`status`, `lastError`, `sentAt`). */
  post: { id: number; channel: string; channelKind: string; retryAt: Date | null } | null;
}

export interface PageStore {
  /**
   * A user's emails of every kind and the posts for them to their channel, and the digest cycles of
   * their account since they joined that sent them none (of an environment in which they followed
   * nothing, the latest only), newest first; with `sentOnly`, the emails and posts alone.
   */
  emails(person: { id: number; account: string }, limit: number, options?: { sentOnly?: boolean }): Promise<EmailLine[]>;
  /** The environments of an account, production first. */
  environments(account: string): Promise<PageEnvironment[]>;
  environment(account: string, environment: string): Promise<PageEnvironment | undefined>;
  /** The flows of an environment grouped by integration, by name, for filters and settings. */
  flows(environment: PageEnvironment): Promise<{ integration: { id: string; name: string }; flows: { id: string; name: string }[] }[]>;
  /** The connections an environment sees, by name. */
  connections(environment: PageEnvironment): Promise<{ id: string; name: string }[]>;
  errors(environment: PageEnvironment, filter: ErrorPageFilter): Promise<ErrorRow[]>;
  /** The page's errors by group (S42), largest first. */
  errorGroups(environment: PageEnvironment, filter: Omit<ErrorPageFilter, 'before' | 'ids'>): Promise<ErrorGroupRow[]>;
  /** The open (or retrying) errors of a group, oldest first, at most `limit`. */
  openErrorsOfGroup(environment: PageEnvironment, flow: string, group: string, limit: number): Promise<number[]>;
  error(environment: PageEnvironment, id: number): Promise<ErrorDetail | undefined>;
  connection(environment: PageEnvironment, id: string): Promise<ConnectionPage | undefined>;
  /** One of a user's emails: its kind and, for a digest, its cycle; undefined when it is not theirs. */
  email(userId: number, id: number): Promise<{ id: number; kind: DeliveryKind; cycleId: number | null } | undefined>;
  /** The names an unsubscribe page shows: the environment's, and the connection's when one is named; undefined for either that is gone. */
  names(environment: string, connection?: string): Promise<{ environment?: string; connection?: string }>;
}

const rowColumns = (db: Knex, ...more: string[]) => db.raw([errorRowColumns, 'e.status', ...more].join(', '));
const toRow = (row: Record<string, unknown>): ErrorRow => ({ ...toErrorRow(row), status: row.status as ErrorStatus });
const toEnvironment = (row: Record<string, unknown>): PageEnvironment => ({
  id: row.id as string,
  name: row.name as string,
  production: row.production as boolean,
  resourceGroup: row.resource_group as string,
});

export function createPageStore(db: Knex): PageStore {
  const errorsOf = (environment: PageEnvironment) =>
    db('errors as e')
      .join('flows as f', 'f.id', 'e.flow_id')
      .join('integrations as i', 'i.id', 'f.integration_id')
      .where('e.environment_id', environment.id);
  /** The errors page's filters, on a query over {@link errorsOf}. */
  const filtered = (query: Knex.QueryBuilder, environment: PageEnvironment, filter: Omit<ErrorPageFilter, 'limit' | 'before' | 'ids'>) => {
    if (filter.flow) query.where('e.flow_id', filter.flow);
    if (filter.integration) query.where('f.integration_id', filter.integration);
    if (filter.status) query.where('e.status', filter.status);
    if (filter.traceKey) query.where('e.trace_key', filter.traceKey);
    if (filter.since) query.where('e.occurred_at', '>=', filter.since);
    if (filter.until) query.where('e.occurred_at', '<', filter.until);
    if (filter.group) {
      const group = inGroup('e', filter.group);
      query.whereRaw(group.sql, group.bindings);
    }
    if (filter.followedBy !== undefined) {
      query.whereRaw(`e.flow_id in (select flow_id from (${followedFlowsSql}) followed where user_id = :user)`, { environment: environment.id, user: filter.followedBy });
    }
    return query;
  };

  return {
    async environments(account) {
      return (await db('environments').where({ account_id: account }).whereNull('removed_at').orderBy([{ column: 'production', order: 'desc' }, 'name'])).map(toEnvironment);
    },

    async environment(account, environment) {
      const row = await db('environments').where({ id: environment, account_id: account }).first();
      return row && toEnvironment(row);
    },

    async flows(environment) {
      const rows = await db('flows as f')
        .join('integrations as i', 'i.id', 'f.integration_id')
        .where('i.resource_group', environment.resourceGroup)
        .whereNull('f.removed_at')
        .orderBy(['i.name', 'f.name'])
        .select('i.id as integration_id', 'i.name as integration_name', 'f.id', 'f.name');
      type Group = { integration: { id: string; name: string }; flows: { id: string; name: string }[] };
      const groups = new Map<string, Group>();
      for (const row of rows) {
        const group: Group = groups.get(row.integration_id) ?? { integration: { id: row.integration_id, name: row.integration_name }, flows: [] };
        group.flows.push({ id: row.id, name: row.name });
        groups.set(row.integration_id, group);
      }
      return [...groups.values()];
    },

    async emails(person, limit, options = {}) {
      // Cycles that sent the person neither an email nor a post to the channel their subscriptions
      // go to (nothing new, or nothing followed) between two that did are one line, the latest,
      // with how many they were: a quiet environment would otherwise fill the list with a line per cycle.
      const quietCycles = `union all
         select 'digest', max(at), environment, environment_name, max(cycle), null, null, null, null, null, null, bool_or(nothing_new), count(*), min(cycle), null, null, null, null
           from cycles where delivery_id is null and post_id is null group by environment, environment_name, emails_since`;
      const rows = await db.raw(
        `with cycles as (
           select c.fixed_at as at, env.id as environment, env.name as environment_name, c.number as cycle,
                  d.id as delivery_id, d.status, d.subject, d.last_error, d.sent_at, s.user_id is not null as nothing_new,
                  cm.id as post_id, ch.name as channel_name, ch.kind as channel_kind, cm.status as post_status, cm.last_error as post_error,
                  cm.sent_at as posted_at, cm.retry_at as post_retry_at,
                  count(coalesce(d.id, cm.id)) over (partition by env.id order by c.fixed_at desc) as emails_since
             from digest_cycles c
             join environments env on env.id = c.environment_id and env.account_id = :account
             join users u on u.id = :user
             left join notifications d on d.cycle_id = c.id and d.user_id = :user
             left join digest_skips s on s.cycle_id = c.id and s.user_id = :user
             left join subscription_targets t on t.environment_id = env.id and t.user_id = :user
             left join notifications cm on cm.cycle_id = c.id and cm.channel_id = t.channel_id
             left join channels ch on ch.id = cm.channel_id
            where c.fixed_at >= u.created_at)
         select 'digest' as kind, at, environment, environment_name, cycle, delivery_id, status, subject, last_error, sent_at, null::timestamptz as held_until,
                nothing_new, 1 as quiet_cycles, cycle as first_cycle, null::bigint as post_id, null as channel_name, null as channel_kind, null::timestamptz as retry_at
           from cycles where delivery_id is not null
         union all
         select 'digest', at, environment, environment_name, cycle, null, post_status, null, post_error, posted_at, null, false, 1, cycle, post_id, channel_name, channel_kind, post_retry_at
           from cycles where post_id is not null
         ${options.sentOnly ? '' : quietCycles}
         union all
         select d.kind, coalesce(ev.changed_at, a.created_at, d.planned_at), env.id, env.name, null, d.id, d.status, d.subject, d.last_error, d.sent_at, d.held_until,
                false, 1, null, null, null, null, null
           from notifications d
           join environments env on env.id = d.environment_id
           left join connection_events ev on ev.id = d.connection_event_id
           left join assignment_events a on a.id = d.assignment_event_id
          where d.user_id = :user and d.kind in ('connection', 'reminder', 'assignment', 'weekly')
         union all
         -- What was posted, for them, to the channel their subscriptions in an environment go to (S43, S49):
         -- its connection changes of connections they follow, its reminders, and assignments to them.
         select m.kind, coalesce(ev.changed_at, a.created_at, m.planned_at, m.created_at), env.id, env.name, null, null, m.status, null, m.last_error, m.sent_at, null,
                false, 1, null, m.id, ch.name, ch.kind, m.retry_at
           from notifications m
           join subscription_targets t on t.channel_id = m.channel_id and t.environment_id = m.environment_id and t.user_id = :user
           join channels ch on ch.id = m.channel_id
           join environments env on env.id = m.environment_id and env.account_id = :account
           left join connection_events ev on ev.id = m.connection_event_id
           left join assignment_events a on a.id = m.assignment_event_id
          where m.kind = 'reminder'
             or (m.kind = 'assignment' and a.assignee_id = :user)
             or (m.kind = 'connection' and exists (select 1 from subscriptions sub where sub.user_id = :user and sub.environment_id = m.environment_id and sub.connection_id = ev.connection_id))
          order by at desc, delivery_id desc nulls last, post_id desc nulls last
          limit :limit`,
        { account: person.account, user: person.id, limit },
      );
      return rows.rows.map((row: Record<string, unknown>) => ({
        kind: row.kind,
        at: row.at,
        environment: row.environment,
        environmentName: row.environment_name,
        cycle: row.cycle,
        deliveryId: row.delivery_id === null ? null : Number(row.delivery_id),
        status: row.status,
        subject: row.subject,
        lastError: row.last_error,
        sentAt: row.sent_at,
        heldUntil: row.held_until,
        nothingNew: row.nothing_new,
        quietCycles: Number(row.quiet_cycles),
        firstCycle: row.first_cycle,
        post: row.post_id === null ? null : { id: Number(row.post_id), channel: row.channel_name as string, channelKind: row.channel_kind as string, retryAt: row.retry_at as Date | null },
      }) as EmailLine);
    },

    async connections(environment) {
      return db('connections').where({ resource_group: environment.resourceGroup }).whereNull('removed_at').orderBy('name').select('id', 'name');
    },

    async errors(environment, filter) {
      const query = errorsOf(environment).select(rowColumns(db)).orderBy('e.id', 'desc').limit(filter.limit);
      filtered(query, environment, filter);
      if (filter.before) query.where('e.id', '<', filter.before);
      if (filter.ids) query.whereIn('e.id', filter.ids);
      return (await query).map(toRow);
    },

    async errorGroups(environment, filter) {
      const query = errorsOf(environment)
        .groupBy('e.flow_id', 'f.name', db.raw(groupKeySql('e')))
        .select(
          'e.flow_id',
          'f.name as flow_name',
          db.raw(`${groupKeySql('e')} as fingerprint`),
          db.raw('(array_agg(e.message order by e.id))[1] as message'),
          db.raw('(array_agg(e.message order by e.occurred_at desc, e.id desc))[1] as latest_message'),
          db.raw('count(*)::int as count'),
          db.raw(`(count(*) filter (where e.status in ('open', 'retrying')))::int as open`),
          db.raw('min(e.occurred_at) as first_seen'),
          db.raw('max(e.occurred_at) as last_seen'),
        )
        .orderByRaw('count(*) desc, min(e.id)')
        .limit(filter.limit);
      filtered(query, environment, filter);
      return (await query).map((row) => ({
        flowId: row.flow_id,
        flowName: row.flow_name,
        fingerprint: row.fingerprint,
        label: groupLabel(row.message, row.fingerprint),
        latestMessage: row.latest_message,
        count: row.count,
        open: row.open,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
      }));
    },

    async openErrorsOfGroup(environment, flow, group, limit) {
      const query = errorsOf(environment).where('e.flow_id', flow).whereIn('e.status', ['open', 'retrying']).orderBy('e.id').limit(limit).pluck('e.id');
      filtered(query, environment, { group });
      return (await query).map(Number);
    },

    async error(environment, id) {
      const row = await errorsOf(environment)
        // The cycle that told it as new; none if it was resolved before one did (S10).
        .leftJoin('digest_cycles as c', (join) => join.on('c.id', 'e.notified_cycle_id').andOn(db.raw('(e.resolution_notified_cycle_id is null or e.resolution_notified_cycle_id > e.notified_cycle_id)')))
        .leftJoin('snoozes as s', 's.id', 'e.snooze_id')
        .where('e.id', id)
        .first(rowColumns(db, 'e.error_key', 'e.report_id', 'e.record', 'c.number as cycle_number', 'c.fixed_at as cycle_at', 's.id as snooze_id', 's.until as snoozed_until', 's.events_left as snooze_events_left', 's.snoozed_by', 's.via as snooze_via'));
      if (!row) return undefined;
      const error = toRow(row);
      const sameTraceKey = (
        await errorsOf(environment).where({ 'e.flow_id': error.flowId, 'e.trace_key': error.traceKey }).whereNot('e.id', id).orderBy('e.id', 'desc').limit(50).select(rowColumns(db))
      ).map(toRow);
      return {
        ...error,
        errorKey: row.error_key,
        reportId: row.report_id,
        record: row.record,
        announcedIn: row.cycle_number === null ? null : { number: row.cycle_number, at: row.cycle_at },
        snooze: row.snooze_id === null ? null : { until: row.snoozed_until, eventsLeft: row.snooze_events_left, by: row.snoozed_by, via: row.snooze_via ?? null },
        sameTraceKey,
      };
    },

    async connection(environment, id) {
      const connection = await db('connections').where({ id, resource_group: environment.resourceGroup }).first('id', 'name');
      if (!connection) return undefined;
      const history = (await db('connection_events').where({ connection_id: id }).orderBy('sequence', 'desc').limit(50).select('status', 'reason', 'changed_at')).map(
        (row) => ({ status: row.status, reason: row.reason, changedAt: row.changed_at }),
      );
      const current = history[0];
      return {
        id: connection.id,
        name: connection.name,
        status: current?.status ?? null,
        since: current?.changedAt ?? null,
        reason: current?.reason ?? null,
        history,
        usedBy: (await createConnectionStore(db).usedBy([id])).get(id) ?? [],
      };
    },

    async email(userId, id) {
      const row = await db('notifications').where({ id, user_id: userId }).first('kind', 'cycle_id');
      return row && { id, kind: row.kind as DeliveryKind, cycleId: row.cycle_id === null ? null : Number(row.cycle_id) };
    },

    async names(environment, connection) {
      const [environmentRow, connectionRow] = await Promise.all([
        db('environments').where({ id: environment }).first('name'),
        connection === undefined ? undefined : db('connections').where({ id: connection }).first('name'),
      ]);
      return { environment: environmentRow?.name, connection: connectionRow?.name };
    },
  };
}
