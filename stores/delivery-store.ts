/**
 * The outbox's sending (S12, S33, S34, S38, S49), for every kind and transport: one row of
 * `notifications` per email to one user or message to one channel, and what became of it.
 * `pending` until its receiver took it (`sent`), refused it for good (`failed`), or it was no
 * longer wanted (`cancelled`, S38). One refused for now stays pending with a `retry_at`, backing
 * off, until the retry limit makes it `failed` (S34). Each attempt is claimed under its sending's
 * fence (S44) by one statement, the same for an email and a post.
 */
import type { Knex } from 'knex';
import { refusalOutcomeSql } from './retry-policy.js';
import { newInRangeSql, resolvedInRangeSql } from './cycle-ranges.js';
import { weeklyReviewOnSql } from './weekly-review-store.js';

/** Kinds of email, as `notifications.kind`. */
export type DeliveryKind = 'digest' | 'connection' | 'assignment' | 'reminder' | 'weekly';

/** A deferred notification whose next attempt is due: an email, or a message to a channel. */
export interface DueDelivery {
  id: number;
  kind: DeliveryKind;
  /** Posted to a channel, not emailed. */
  toChannel: boolean;
  cycleId: number | null;
  connectionEventId: number | null;
}

/** A notification its receiver took (an email SMTP accepted, a post answered 2xx): its mark `sent`. */
export interface AcceptedNotification {
  deliveryId: number;
  /** The Message-ID an email carried. */
  messageId?: string;
  /** The subject an email was sent with, for the user's list of their emails (S27). */
  subject?: string;
  /** The HTTP status a post was answered with. */
  status?: number;
  /** When it was taken, on the sending attempt's clock (ISO; absent in heartbeats of an earlier release: the database's now). */
  sentAt?: string;
}

/** How a refusal for now is retried: the transport's first wait (stores/retry-policy.ts), the receiver's Retry-After, its HTTP status. */
export interface Refusal {
  reason: string;
  firstWaitMs: number;
  retryAfterMs?: number | null;
  status?: number | null;
}

/** A sending attempt's hold on its scope (S44): valid while the scope's generation is still this one. */
export interface SendFence {
  scope: string;
  generation: number;
}

/** What a claim found of one notification: claimed, done (no longer to send), or fenced (another attempt sends). */
export type SendClaim = 'claimed' | 'done' | 'fenced';

/** Pending deliveries of an environment, and why they wait (for `herald status`). */
export interface PendingSummary {
  pending: number;
  deferred: number;
  nextRetryAt: Date | null;
  lastError: string | null;
}

/** A notification refused for now, under the one retry policy (stores/retry-policy.ts); the attempts before this one count its refusals. */
const refusal = refusalOutcomeSql({ refusalsBefore: 'attempts', first: ':first::bigint', retryAfterMs: ':retryAfter::bigint', now: ':now', since: 'deferred_since', limitMs: ':limit' });

/** The subscriptions of delivery `d`'s person in its environment that follow one of the flows `wf`. */
const followsFlowSql = `select 1 from flows wf join subscriptions ws
          on ws.user_id = d.user_id and ws.environment_id = d.environment_id
         and (ws.flow_id = wf.id or ws.integration_id = wf.integration_id)`;

/**
 * Each kind's rule (S38) for a delivery `d` of that kind, given its person is still a current user
 * of the environment's account: a digest, a flow with news in its cycle (chosen, or through its
 * integration; `newsFlows` is an SQL expression of the text[] of those flows) or, over a person's
 * range of cycles (S41), any flow it is about; a reminder, a flow it is about; a connection email,
 * the connection; a weekly review, that it is on (S47); an assignment, always. Typed by kind: a new
 * kind says its own.
 */
const stillWantedByKind: Record<DeliveryKind, (newsFlows: string) => string> = {
  digest: (newsFlows) => `exists (${followsFlowSql}
       where wf.id = any(d.flow_ids) and (d.since_cycle_id is not null or wf.id = any(${newsFlows}::text[])))`,
  assignment: () => 'true',
  weekly: () => weeklyReviewOnSql('d.user_id', 'd.environment_id'),
  reminder: () => `exists (${followsFlowSql} where wf.id = any(d.flow_ids))`,
  connection: () => `exists (
      select 1 from subscriptions ws join connection_events wev on wev.id = d.connection_event_id
       where ws.user_id = d.user_id and ws.environment_id = d.environment_id and ws.connection_id = wev.connection_id)`,
};

/**
 * SQL that is true while delivery `d` is still wanted (S38): its user is a current user of the
 * environment's account, and its kind's rule holds ({@link stillWantedByKind}).
 */
export function stillWantedSql(newsFlows = newsFlowsOfDeliveryCycle): string {
  return `(
  exists (select 1 from users wu join environments we on we.id = d.environment_id and we.account_id = wu.account_id
           where wu.id = d.user_id and wu.removed_at is null)
  and case d.kind
    ${Object.entries(stillWantedByKind).map(([kind, rule]) => `when '${kind}' then ${rule(newsFlows)}`).join('\n    ')}
    else false
  end)`;
}

/** The flows with new or resolved errors in delivery `d`'s cycle, row by row: for a few deliveries. */
const newsFlowsOfDeliveryCycle = `(select array_agg(distinct e.flow_id) from errors e
  where (${newInRangeSql(null, 'e', 'd.cycle_id')}) or (${resolvedInRangeSql(null, 'e', 'd.cycle_id')}))`;

export interface DeliveryStore {
  /**
   * A sending attempt starts: it takes the fence of `scope` (its workflow) from any attempt
   * before it, which can send nothing more. The last to take it holds it, so two attempts never
   * send for one scope at once.
   */
  takeFence(scope: string, owner: string): Promise<SendFence>;
  /**
   * Before handing notifications to their receivers, in one statement: `fenced` if another attempt
   * took the fence since (send nothing more), else which of `ids` are still pending and due at
   * `now` — claimed; the others are done (sent, failed, cancelled or deferred by another attempt).
   * The same statement first marks `accepted` sent (what each claiming slot's receiver took since
   * its last claim), so sending at full speed costs at most one statement a notification, whatever
   * its transport, and less when claims wait together.
   */
  claimForSending(ids: number[], fence: SendFence, accepted: AcceptedNotification[], now: Date): Promise<'fenced' | Set<number>>;
  /** Their receivers took these notifications: each is done and never sent again. */
  markSent(accepted: AcceptedNotification[]): Promise<void>;
  /** Refused for good, or could not be composed: recorded, not tried again. */
  markFailed(deliveryId: number, reason: string, details?: { subject?: string; status?: number | null }): Promise<void>;
  /** The user left the account or unsubscribed after it was planned, or its channel cannot take it: recorded, not sent. */
  markCancelled(deliveryId: number, reason: string): Promise<void>;
  /**
   * Refused for now: the notification waits for its next attempt, backing off from its first
   * refusal (never sooner than the receiver asked); once `retryLimitMs` have passed since then,
   * it is failed instead. Returns which.
   */
  defer(deliveryId: number, refused: Refusal, now: Date, retryLimitMs: number): Promise<'deferred' | 'failed'>;
  /** A failure of the mail server as a whole: counted and kept, the delivery stays pending. */
  recordAttempt(deliveryId: number, reason: string): Promise<void>;
  /** Deferred notifications of an environment (emails and channel messages) whose next attempt is due by `now`, oldest due first. */
  dueDeferred(environment: string, now: Date, limit: number): Promise<DueDelivery[]>;
  /** When the environment's next deferred notification is due, if any. */
  nextRetryAt(environment: string): Promise<Date | null>;
  /** Pending deliveries of an environment and the last error met, for operators. */
  pendingSummary(environment: string): Promise<PendingSummary>;
}

/** Marks accepted notifications sent (each still pending): `d`, with {@link markSentBindings} (text arrays, '' for none). */
const markSentSql = `update notifications d
    set status = 'sent', sent_at = coalesce(nullif(a.sent_at, '')::timestamptz, now()), message_id = coalesce(nullif(a.message_id, ''), d.message_id),
        subject = coalesce(nullif(a.subject, ''), d.subject), last_status = nullif(a.status, '')::int, attempts = d.attempts + 1, retry_at = null
   from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[]) as a(id, message_id, subject, status, sent_at)
  where d.id = a.id and d.status = 'pending'`;
const markSentBindings = (accepted: AcceptedNotification[]) => [
  accepted.map((a) => a.deliveryId),
  accepted.map((a) => a.messageId ?? ''),
  accepted.map((a) => a.subject ?? ''),
  accepted.map((a) => (a.status === undefined ? '' : String(a.status))),
  accepted.map((a) => a.sentAt ?? ''),
];

/** The delivery store on PostgreSQL. */
export function createDeliveryStore(db: Knex): DeliveryStore {
  const pending = (deliveryId: number) => db('notifications').where({ id: deliveryId, status: 'pending' });
  const emails = () => db('notifications').whereNull('channel_id');
  return {
    async takeFence(scope, owner) {
      const { rows } = await db.raw(
        `insert into send_fences (scope, generation, owner) values (?, 1, ?)
         on conflict (scope) do update set generation = send_fences.generation + 1, owner = excluded.owner, taken_at = now()
         returning generation`,
        [scope, owner],
      );
      return { scope, generation: Number(rows[0].generation) };
    },

    async claimForSending(ids, fence, accepted, now) {
      // A data-modifying WITH runs to its end whether or not the query reads it.
      const marks = accepted.length === 0 ? '' : `with marked as (${markSentSql}) `;
      const { rows } = await db.raw(
        `${marks}select coalesce((select generation from send_fences where scope = ?) = ?, false) as owned,
                array(select id from notifications where id = any(?::bigint[]) and status = 'pending' and (retry_at is null or retry_at <= ?)) as claimed`,
        [...(accepted.length === 0 ? [] : markSentBindings(accepted)), fence.scope, fence.generation, ids, now],
      );
      return rows[0].owned ? new Set((rows[0].claimed as string[]).map(Number)) : 'fenced';
    },

    async markSent(accepted) {
      if (accepted.length === 0) return;
      await db.raw(markSentSql, markSentBindings(accepted));
    },

    async markFailed(deliveryId, reason, details = {}) {
      await pending(deliveryId).update({
        status: 'failed',
        last_error: reason.slice(0, 2_000),
        attempts: db.raw('attempts + 1'),
        retry_at: null,
        ...(details.subject !== undefined && { subject: details.subject }),
        ...(details.status !== undefined && { last_status: details.status }),
      });
    },

    async markCancelled(deliveryId, reason) {
      await pending(deliveryId).update({ status: 'cancelled', last_error: reason.slice(0, 2_000), retry_at: null });
    },

    async defer(deliveryId, refused, now, retryLimitMs) {
      const rows = await db.raw(
        `update notifications
            set attempts = attempts + 1,
                last_error = :reason,
                last_status = :status,
                deferred_since = coalesce(deferred_since, :now),
                status = ${refusal.status},
                retry_at = ${refusal.retryAt}
          where id = :id and status = 'pending'
          returning status`,
        {
          id: deliveryId,
          reason: refused.reason.slice(0, 2_000),
          status: refused.status ?? null,
          first: refused.firstWaitMs,
          retryAfter: refused.retryAfterMs ?? null,
          now,
          limit: retryLimitMs,
        },
      );
      return rows.rows[0]?.status === 'failed' ? 'failed' : 'deferred';
    },

    async recordAttempt(deliveryId, reason) {
      await pending(deliveryId).update({ last_error: reason.slice(0, 2_000), attempts: db.raw('attempts + 1') });
    },

    async dueDeferred(environment, now, limit) {
      const rows = await db('notifications')
        .where({ environment_id: environment, status: 'pending' })
        .where('retry_at', '<=', now)
        .orderBy([{ column: 'retry_at' }, { column: 'id' }])
        .limit(limit)
        .select('id', 'kind', 'channel_id', 'cycle_id', 'connection_event_id');
      return rows.map((r) => ({ id: Number(r.id), kind: r.kind, toChannel: r.channel_id !== null, cycleId: r.cycle_id, connectionEventId: r.connection_event_id }));
    },

    async nextRetryAt(environment) {
      const row = await db('notifications')
        .where({ environment_id: environment, status: 'pending' })
        .whereNotNull('retry_at')
        .min({ at: 'retry_at' })
        .first();
      return (row?.at as Date | null | undefined) ?? null;
    },

    async pendingSummary(environment) {
      const row = await emails()
        .where({ environment_id: environment, status: 'pending' })
        .first(
          db.raw('count(*)::int as pending'),
          db.raw('(count(*) filter (where retry_at is not null))::int as deferred'),
          db.raw('min(retry_at) as next_retry_at'),
          db.raw(`(array_agg(last_error order by id desc) filter (where last_error is not null))[1] as last_error`),
        );
      return {
        pending: row?.pending ?? 0,
        deferred: row?.deferred ?? 0,
        nextRetryAt: row?.next_retry_at ?? null,
        lastError: row?.last_error ?? null,
      };
    },
  };
}
