/**
 * The event a channel message tells (events.ts), read from what its digest cycle or connection
 * change fixed, with the same rows the emails read (S7–S10, S30, S42). Composed at the first
 * attempt and kept: every retry posts the same.
 */
import type { Knex } from 'knex';
import { channelResolvedSql, digestMessageFlows, type ClaimedMessage } from '../stores/channel-store.js';
import { createDigestStore, errorRowColumns, toErrorRow, type DigestErrorRow } from '../stores/digest-store.js';
import { createConnectionStore } from '../stores/connection-store.js';
import { emailFrame } from '../email/email-frame.js';
import { eventFlows, eventLines, type ChannelEvent, type ErrorLine } from './events.js';

export function channelComposer(db: Knex, appUrl: string) {
  const digests = createDigestStore(db);
  const connections = createConnectionStore(db);

  const line = (frame: ReturnType<typeof emailFrame>, row: DigestErrorRow): ErrorLine => ({
    errorId: row.id,
    flow: row.flowName,
    integration: row.integrationName,
    traceKey: row.traceKey,
    message: row.message,
    code: row.code,
    occurredAt: row.occurredAt.toISOString(),
    count: row.group?.size ?? 1,
    url: frame.link(`errors/${row.id}`),
  });

  async function digestEvent(message: ClaimedMessage): Promise<ChannelEvent> {
    const cycleId = message.cycleId!;
    const context = await digests.cycleContext(cycleId);
    const frame = emailFrame(appUrl, context.environment, context.account);
    const byFlow = await digests.newErrorsByFlow(cycleId, message.flowIds, eventLines, message.sinceCycleId);
    const resolved = await db.raw(
      `select ${errorRowColumns} from errors e join flows f on f.id = e.flow_id join integrations i on i.id = f.integration_id,
              (select channel_id, flow_ids, cycle_id, since_cycle_id from notifications where id = :id) cm
        where ${channelResolvedSql} order by f.name, e.flow_id, e.resolved_at, e.id limit :limit`,
      { id: message.id, limit: eventLines },
    );
    const fixedAt = (await db('digest_cycles').where({ id: cycleId }).first('fixed_at')).fixed_at as Date;
    return {
      type: 'herald.digest',
      version: 1,
      timestamp: fixedAt.toISOString(),
      data: {
        account: { id: context.account.id, name: context.account.name },
        environment: context.environment,
        cycle: context.number,
        newErrors: message.newCount,
        resolvedErrors: message.resolvedCount,
        openErrors: message.openCount,
        firstNew: [...byFlow.values()].flat().slice(0, eventLines).map((row) => line(frame, row)),
        firstResolved: resolved.rows.map((r: Record<string, unknown>) => line(frame, { ...toErrorRow(r), flowCount: 1 })),
        flows: (await digestMessageFlows(db, message.id, context.environment.id, eventFlows)).map((flow) => ({
          ...flow,
          url: frame.link(`errors?status=open&flow=${encodeURIComponent(flow.id)}`),
        })),
        url: frame.link('errors?status=open'),
      },
    };
  }

  async function connectionEvent(message: ClaimedMessage): Promise<ChannelEvent> {
    const row = await db('connection_events as ev')
      .join('connections as c', 'c.id', 'ev.connection_id')
      .join('environments as e', 'e.id', db.raw('?', [message.environmentId]))
      .join('accounts as a', 'a.id', 'e.account_id')
      .where('ev.id', message.connectionEventId!)
      .first(
        'ev.status', 'ev.reason', 'ev.changed_at', 'c.id as connection_id', 'c.name as connection_name', 'e.id as environment_id',
        'e.name as environment_name', 'e.production', 'a.id as account_id', 'a.name as account_name',
        db.raw(`(select count(*) from errors x join flow_connections xf on xf.flow_id = x.flow_id
                  where xf.connection_id = c.id and x.environment_id = e.id and x.reported_at >= ev.changed_at)::int as errors_since`),
      );
    const environment = { id: row.environment_id, name: row.environment_name, production: row.production };
    const frame = emailFrame(appUrl, environment, { name: row.account_name });
    const usedBy = (await connections.usedBy([row.connection_id])).get(row.connection_id) ?? [];
    return {
      type: row.status === 'offline' ? 'herald.connection.offline' : 'herald.connection.online',
      version: 1,
      timestamp: (row.changed_at as Date).toISOString(),
      data: {
        account: { id: row.account_id, name: row.account_name },
        environment,
        connection: { id: row.connection_id, name: row.connection_name },
        status: row.status,
        reason: row.reason,
        usedBy,
        errorsSince: row.status === 'offline' ? row.errors_since : 0,
        url: frame.link(`connections/${encodeURIComponent(row.connection_id)}`),
      },
    };
  }

  /** The environment and account of a message, and its links. */
  async function frameOf(environmentId: string) {
    const row = await db('environments as e').join('accounts as a', 'a.id', 'e.account_id').where('e.id', environmentId).first('e.id', 'e.name', 'e.production', 'e.remind_after_ms', 'a.id as account_id', 'a.name as account_name');
    const environment = { id: row.id as string, name: row.name as string, production: row.production as boolean };
    return { environment, account: { id: row.account_id as string, name: row.account_name as string }, remindAfterMs: Number(row.remind_after_ms), frame: emailFrame(appUrl, environment, { name: row.account_name }) };
  }

  /** Error rows, with their flows and integrations, of `where` (SQL over errors `e`). */
  const errorRows = async (where: string, bindings: Record<string, unknown>) =>
    (await db.raw(`select ${errorRowColumns} from errors e join flows f on f.id = e.flow_id join integrations i on i.id = f.integration_id where ${where} order by e.id limit ${eventLines}`, bindings)).rows.map(
      (r: Record<string, unknown>) => ({ ...toErrorRow(r), flowCount: 1 }),
    ) as DigestErrorRow[];

  async function reminderEvent(message: ClaimedMessage): Promise<ChannelEvent> {
    const { environment, account, remindAfterMs, frame } = await frameOf(message.environmentId);
    const at = message.plannedAt!;
    const stale = `e.environment_id = :environment and e.status = 'open' and e.flow_id = any(:flows) and e.reported_at < :at::timestamptz - :ms * interval '1 millisecond'`;
    const bindings = { environment: environment.id, flows: message.flowIds, at: at.toISOString(), ms: remindAfterMs };
    return {
      type: 'herald.errors.reminder',
      version: 1,
      timestamp: at.toISOString(),
      data: {
        account,
        environment,
        openLongerThanMs: remindAfterMs,
        count: message.openCount,
        first: (await errorRows(stale, bindings)).map((row) => line(frame, row)),
        url: frame.link('errors?status=open'),
      },
    };
  }

  async function assignmentEvent(message: ClaimedMessage): Promise<ChannelEvent> {
    const { environment, account, frame } = await frameOf(message.environmentId);
    const action = await db('assignment_events as a').join('users as u', 'u.id', 'a.assignee_id').where('a.id', message.assignmentEventId!).first('a.error_ids', 'a.assigned_by', 'a.created_at', 'u.email');
    const ids = (action.error_ids as string[]).map(Number);
    return {
      type: 'herald.errors.assigned',
      version: 1,
      timestamp: (action.created_at as Date).toISOString(),
      data: {
        account,
        environment,
        assignee: action.email,
        assignedBy: action.assigned_by,
        count: ids.length,
        errors: (await errorRows('e.id = any(:ids)', { ids })).map((row) => line(frame, row)),
        url: frame.link('errors?status=open&mine=1'),
      },
    };
  }

  const composers = { digest: digestEvent, connection: connectionEvent, reminder: reminderEvent, assignment: assignmentEvent };
  return {
    /** The message's event: as kept from its first attempt, or composed now. */
    async eventOf(message: ClaimedMessage): Promise<ChannelEvent> {
      if (message.event) return message.event as ChannelEvent;
      return composers[message.kind](message);
    },
  };
}
