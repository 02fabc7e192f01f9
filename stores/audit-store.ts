/**
 * The audit (S40): every change of an account's people and what they follow, made through the
 * API, the command line, the catalog or a page, with who made it: "token 12 (billing platform)",
 * "operator (herald catalog apply)", "ops@acme.example".
 */
import type { Knex } from 'knex';

export interface AuditEvent {
  account: string;
  actor: string;
  /** created, changed, removed, synced, applied, chose, unsubscribed */
  action: string;
  /** users, flows, subscriptions, catalog, … */
  kind: string;
  /** The entity's id (a user's address; `environment/address` for subscriptions). */
  entity: string;
  /** What it reads as after the change, or what the change did. */
  detail?: unknown;
}

export interface RecordedAuditEvent extends Required<AuditEvent> {
  id: number;
  at: Date;
}

/** Records a change, in the transaction (or on the connection) that makes it. */
export async function recordAudit(db: Knex, event: AuditEvent): Promise<void> {
  await db('audit_events').insert({
    account_id: event.account,
    actor: event.actor,
    action: event.action,
    kind: event.kind,
    entity: event.entity,
    detail: event.detail === undefined ? null : JSON.stringify(event.detail),
  });
}

/** An account's recorded changes, newest first, before the event `before`. */
export async function auditTrail(db: Knex, account: string, page: { before?: number; limit: number }): Promise<RecordedAuditEvent[]> {
  const query = db('audit_events').where({ account_id: account }).orderBy('id', 'desc').limit(page.limit);
  if (page.before !== undefined) query.where('id', '<', page.before);
  return (await query.select('id', 'account_id', 'actor', 'action', 'kind', 'entity', 'detail', 'at')).map((row) => ({
    id: Number(row.id),
    at: row.at as Date,
    account: row.account_id as string,
    actor: row.actor as string,
    action: row.action as string,
    kind: row.kind as string,
    entity: row.entity as string,
    detail: row.detail as unknown,
  }));
}
