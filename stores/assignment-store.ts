/**
 * Assignment of errors (S32): who an error is assigned to, and the assignee's email of each
 * assignment action, planned in the same transaction (one delivery per action, keyed by its
 * request id), so that a retried or repeated request emails nobody twice.
 */
import type { Knex } from 'knex';
import { addressingOfRow, type EmailAddressing } from './email-addressing.js';
import { recordAudit } from './audit-store.js';
import { planAssignmentMessages } from './channel-store.js';
import { emailWantedSql } from './followed-flows.js';
import { holdInQuietHours, personsInQuietHours } from './rhythm.js';
import type { AssignRequest } from '../contracts/error-report.js';
import { InputRefusedError } from '../contracts/problems.js';
import { mayActSql } from './acting-user.js';

/** What the assignee's email needs. */
export interface AssignmentEmailContext extends EmailAddressing {
  assignedBy: string;
  errors: { id: number; traceKey: string; message: string; flowName: string }[];
  /** Whether the assignee may resolve and snooze (no monitor): their rows carry those actions (S45). */
  canAct?: boolean;
}

export interface AssignmentStore {
  /**
   * Assigns the errors; refuses (naming the field) a monitor or unknown assigner, an assignee who
   * is no current user of the account, or errors not in the environment. Returns the action and
   * the errors assigned; a repeated request id returns the first action, unchanged. The email of
   * an assignee in their quiet hours at `at` is held until they end (S49).
   */
  assign(request: AssignRequest & { requestId: string }, at: Date): Promise<{ eventId: number; assigned: number[] }>;
  /** The action's emails still to send, or these deliveries (deferred ones, when due). */
  /** The action's pending emails, or these deliveries (`anyStatus`: whatever became of them, to show one again). */
  pendingEmails(which: { eventId: number } | { deliveryIds: number[]; anyStatus?: boolean }): Promise<AssignmentEmailContext[]>;
}

export function createAssignmentStore(db: Knex): AssignmentStore {
  return {
    async assign(request, at) {
      return db.transaction(async (trx) => {
        const repeated = await trx('assignment_events').where({ request_id: request.requestId }).first('id', 'error_ids');
        if (repeated) return { eventId: Number(repeated.id), assigned: (repeated.error_ids as string[]).map(Number) };
        const env = await trx('environments').where({ id: request.environment }).first('account_id');
        if (!env) throw new InputRefusedError([{ field: 'environment', message: `unknown environment "${request.environment}"` }]);
        const userOf = (email: string) => trx('users').where({ account_id: env.account_id, email: email.toLowerCase() }).whereNull('removed_at').first('id', 'email', 'role');
        const by = await userOf(request.user);
        if (!by) throw new InputRefusedError([{ field: 'user', message: `"${request.user}" is not a user of this environment's account` }]);
        if (by.role === 'monitor') throw new InputRefusedError([{ field: 'user', message: `"${request.user}" is a monitor user: monitors read, they do not assign errors` }]);
        const assignee = await userOf(request.assignee);
        if (!assignee) throw new InputRefusedError([{ field: 'assignee', message: `"${request.assignee}" is not a user of this environment's account` }]);
        const known = await trx('errors').where({ environment_id: request.environment }).whereIn('id', request.errorIds).pluck('id');
        const unknown = request.errorIds.filter((id) => !known.map(Number).includes(id));
        if (unknown.length > 0) throw new InputRefusedError([{ field: 'errorIds', message: `no errors ${unknown.join(', ')} in environment "${request.environment}"` }]);

        await trx('errors').whereIn('id', request.errorIds).update({ assignee_id: assignee.id, assigned_at: trx.fn.now() });
        const [event] = await trx('assignment_events')
          .insert({ request_id: request.requestId, environment_id: request.environment, assignee_id: assignee.id, assigned_by: by.email, via: request.via ?? null, error_ids: request.errorIds })
          .returning('id');
        await recordAudit(trx, {
          account: env.account_id,
          actor: by.email,
          action: 'assigned',
          kind: 'errors',
          entity: `${request.environment}/${request.errorIds.length === 1 ? `error ${request.errorIds[0]}` : `${request.errorIds.length} errors`}`,
          detail: { to: assignee.email, errors: request.errorIds.slice(0, 100), ...(request.via && { via: request.via }) },
        });
        // Whoever assigns errors to themselves knows it: nothing to tell them.
        if (Number(assignee.id) === Number(by.id)) return { eventId: Number(event.id), assigned: request.errorIds };
        // Emailed unless the assignee's subscriptions there go to a channel instead; and posted to
        // the channel they go to (S43).
        const planned = await trx.raw(
          `insert into notifications (kind, assignment_event_id, environment_id, user_id, recipient)
           select 'assignment', :event, :environment, :user, :recipient where ${emailWantedSql(':user')}
           returning id`,
          { event: event.id, environment: request.environment, user: assignee.id, recipient: assignee.email },
        );
        const quiet = await personsInQuietHours(trx, at, { environment: request.environment, users: [Number(assignee.id)] });
        await holdInQuietHours(trx, planned.rows.map((row: { id: string }) => Number(row.id)), quiet);
        await planAssignmentMessages(trx, Number(event.id), request.environment, Number(assignee.id));
        return { eventId: Number(event.id), assigned: request.errorIds };
      });
    },

    async pendingEmails(which) {
      const query = db('notifications as d')
        .join('assignment_events as a', 'a.id', 'd.assignment_event_id')
        .join('environments as env', 'env.id', 'd.environment_id')
        .join('accounts as acc', 'acc.id', 'env.account_id')
        .where({ 'd.kind': 'assignment' })
        .whereNull('d.channel_id')
        .select('d.id', 'd.public_id', 'd.user_id', 'd.recipient', 'a.assigned_by', 'a.error_ids', 'env.id as environment_id', 'env.name as environment_name', 'env.production', 'acc.name as account_name', db.raw(`${mayActSql('d')} as can_act`));
      if ('eventId' in which) query.where({ 'd.assignment_event_id': which.eventId }).whereNull('d.retry_at');
      else query.whereIn('d.id', which.deliveryIds);
      if (!('deliveryIds' in which && which.anyStatus)) query.where({ 'd.status': 'pending' });
      const rows = await query;
      const errorIds = [...new Set(rows.flatMap((row) => (row.error_ids as string[]).map(Number)))];
      const errors = await db('errors as e')
        .join('flows as f', 'f.id', 'e.flow_id')
        .whereIn('e.id', errorIds)
        .orderBy('e.id')
        .select('e.id', 'e.trace_key', 'e.message', 'f.name as flow_name');
      return rows.map((row) => {
        const ids = new Set((row.error_ids as string[]).map(Number));
        return {
          ...addressingOfRow(row),
          assignedBy: row.assigned_by,
          errors: errors.filter((e) => ids.has(Number(e.id))).map((e) => ({ id: Number(e.id), traceKey: e.trace_key, message: e.message, flowName: e.flow_name })),
          canAct: row.can_act as boolean,
        };
      });
    },
  };
}
