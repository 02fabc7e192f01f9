/**
 * Connection status changes in PostgreSQL: each notified change is an event keyed by
 * (connection, sequence), with one delivery per subscriber and environment (S14, S15, S18).
 */
import type { Knex } from 'knex';
import { holdInQuietHours, personsInQuietHours } from './rhythm.js';
import type { ConnectionState } from '../contracts/error-report.js';
import { stillWantedSql } from './delivery-store.js';
import { addressingOfRow, type EmailAddressing } from './email-addressing.js';
import { planConnectionMessages } from './channel-store.js';
import { shareCatalogLock } from './catalog-lock.js';
import { emailWantedSql } from './followed-flows.js';

export type { ConnectionState };

export interface ConnectionEmailContext extends EmailAddressing {
  connection: { id: string; name: string };
  status: ConnectionState;
  reason: string | null;
  changedAt: Date;
  /** Integrations and flows of this environment that use the connection. */
  usedBy: { integration: string; flows: string[] }[];
  /** False when the user left the account or unsubscribed since the change was recorded (S38). */
  wanted: boolean;
  /** For an outage: the errors of the flows using the connection, in this environment, since it began (S30). */
  errorsSince: number;
}

/** Connections: their notified changes and the emails about them. */
export interface ConnectionStore {
  /** The connection as seen from an environment (a legacy pair shares it, S18); undefined if unknown there. */
  findConnection(environment: string, connection: string): Promise<{ id: string; name: string } | undefined>;
  /**
   * Records a notified change once (a retry finds the event already there), with a delivery for
   * each current user subscribed to the connection, in each environment that sees it.
   */
  recordChange(connection: string, sequence: number, status: ConnectionState, reason: string | null, changedAt: Date): Promise<number>;
  /**
   * Everything the pending emails need: of one change, those waiting for their first attempt;
   * or these deliveries (deferred ones, when due).
   */
  pendingEmails(which: {
    eventId: number;
  } | {
    deliveryIds: number[];
    /** Whatever became of them (to show an email again, S27), not only pending ones. */
    anyStatus?: boolean;
  }): Promise<ConnectionEmailContext[]>;
  /** The integrations and flows that use each connection, grouped by integration, by name (one query for all). */
  usedBy(connections: string[]): Promise<Map<string, ConnectionUsage[]>>;
  /**
   * Of these deliveries, cancels those held by quiet hours (S49) whose news no longer stands when
   * they end: the connection changed back, a later change to the same person replaces it, or it
   * tells the state the person was last told (an outage that began and ended while they slept
   * is no news). Returns the ids cancelled.
   */
  dropStaleHeld(deliveryIds: number[]): Promise<number[]>;
}

/** An integration whose flows use a connection. */
export interface ConnectionUsage {
  integration: string;
  flows: string[];
}

export function createConnectionStore(db: Knex): ConnectionStore {
  const store: ConnectionStore = {
    async findConnection(environment: string, connection: string): Promise<{ id: string; name: string } | undefined> {
      return db('connections as c')
        .join('environments as e', 'e.resource_group', 'c.resource_group')
        .where({ 'c.id': connection, 'e.id': environment })
        .whereNull('c.removed_at')
        .first('c.id', 'c.name');
    },

    async recordChange(connection: string, sequence: number, status: ConnectionState, reason: string | null, changedAt: Date) {
      return db.transaction(async (trx) => {
        await shareCatalogLock(trx);
        const inserted = await trx('connection_events')
          .insert({ connection_id: connection, sequence, status, reason, changed_at: changedAt })
          .onConflict(['connection_id', 'sequence'])
          .ignore()
          .returning('id');
        const event = inserted[0] ?? (await trx('connection_events').where({ connection_id: connection, sequence }).first('id'));
        await trx('connection_status')
          .insert({ connection_id: connection, status, reason, since: changedAt })
          .onConflict('connection_id')
          .merge();
        if (inserted.length > 0) {
          const planned = await trx.raw(
            `insert into notifications (kind, connection_event_id, environment_id, user_id, recipient)
             select distinct 'connection', :event::bigint, s.environment_id, u.id, u.email
               from subscriptions s
               join users u on u.id = s.user_id and u.removed_at is null
               join environments e on e.id = s.environment_id and e.account_id = u.account_id
               join connections c on c.id = s.connection_id and c.resource_group = e.resource_group
              where s.connection_id = :connection
                and ${emailWantedSql('u.id', 's.environment_id')}
             returning id`,
            { event: event.id, connection },
          );
          // Persons in quiet hours who want no connection emails then (S41) are emailed when they
          // end, if the change still stands (S49).
          const quiet = await personsInQuietHours(trx, changedAt, { connectionEmails: false });
          await holdInQuietHours(trx, planned.rows.map((row: { id: string }) => Number(row.id)), quiet);
          // Channels are a team's: quiet hours are a person's (S41), so they hear of every change (S43).
          await planConnectionMessages(trx, event.id, connection);
        }
        return event.id as number;
      });
    },

    async dropStaleHeld(deliveryIds) {
      if (deliveryIds.length === 0) return [];
      // The same person's emails about the same connection, as seen from the same environment.
      const samePerson = `x.kind = 'connection' and x.user_id = d.user_id and x.environment_id = d.environment_id and xe.connection_id = ev.connection_id`;
      const result = await db.raw(
        `update notifications d
            set status = 'cancelled', retry_at = null,
                last_error = 'held in quiet hours: when they ended, the connection was ' || st.status || ' and nothing was news'
           from connection_events ev, connection_status st
          where d.id = any(:ids::bigint[]) and d.status = 'pending' and d.held_until is not null
            and ev.id = d.connection_event_id and st.connection_id = ev.connection_id
            and (st.status <> ev.status
                 or exists (select 1 from notifications x join connection_events xe on xe.id = x.connection_event_id
                             where ${samePerson} and xe.sequence > ev.sequence and x.status = 'pending')
                 or ev.status = coalesce((select xe.status from notifications x join connection_events xe on xe.id = x.connection_event_id
                                           where ${samePerson} and x.status = 'sent' order by xe.sequence desc limit 1), 'online'))
          returning d.id`,
        { ids: deliveryIds },
      );
      return result.rows.map((row: { id: string }) => Number(row.id));
    },

    async pendingEmails(which: { eventId: number } | { deliveryIds: number[]; anyStatus?: boolean }): Promise<ConnectionEmailContext[]> {
      const query = db('notifications as d')
        .join('connection_events as ev', 'ev.id', 'd.connection_event_id')
        .join('connections as c', 'c.id', 'ev.connection_id')
        .join('environments as e', 'e.id', 'd.environment_id')
        .join('accounts as a', 'a.id', 'e.account_id')
        .where({ 'd.kind': 'connection' })
        .whereNull('d.channel_id');
      if (!('deliveryIds' in which && which.anyStatus)) query.where({ 'd.status': 'pending' });
      if ('eventId' in which) query.where({ 'd.connection_event_id': which.eventId }).whereNull('d.retry_at');
      else query.whereIn('d.id', which.deliveryIds);
      const rows = await query
        .orderBy('d.id')
        .select(
          'd.id', 'd.public_id', 'd.user_id', 'd.recipient', 'e.id as environment_id', 'e.name as environment_name', 'e.production',
          'a.name as account_name', 'c.id as connection_id', 'c.name as connection_name', 'ev.status', 'ev.reason', 'ev.changed_at',
          db.raw(`${stillWantedSql()} as wanted`),
          db.raw(`(select count(*) from errors x join flow_connections xf on xf.flow_id = x.flow_id
                    where xf.connection_id = c.id and x.environment_id = d.environment_id and x.reported_at >= ev.changed_at) as errors_since`),
        );
      const usage = await store.usedBy([...new Set(rows.map((r) => r.connection_id as string))]);
      return rows.map((r) => ({
        ...addressingOfRow(r),
        connection: { id: r.connection_id, name: r.connection_name },
        status: r.status,
        reason: r.reason,
        changedAt: r.changed_at,
        usedBy: usage.get(r.connection_id) ?? [],
        wanted: r.wanted,
        errorsSince: Number(r.errors_since),
      }));
    },

    async usedBy(connections) {
      const usedBy = new Map<string, ConnectionUsage[]>(connections.map((connection) => [connection, []]));
      if (connections.length === 0) return usedBy;
      const rows = await db('flow_connections as fc')
        .join('flows as f', 'f.id', 'fc.flow_id')
        .join('integrations as i', 'i.id', 'f.integration_id')
        .whereIn('fc.connection_id', connections)
        .orderBy(['fc.connection_id', 'i.name', 'f.name'])
        .select('fc.connection_id as connection', 'i.name as integration', 'f.name as flow');
      for (const row of rows) {
        const usage = usedBy.get(row.connection)!;
        const last = usage.at(-1);
        if (last && last.integration === row.integration) last.flows.push(row.flow);
        else usage.push({ integration: row.integration, flows: [row.flow] });
      }
      return usedBy;
    },
  };
  return store;
}
