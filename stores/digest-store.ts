/**
 * Digest cycles in PostgreSQL. A cycle's content (which errors are new, which newly resolved,
 * who gets an email and about which flows) is fixed once, in one transaction, under
 * (environment, cycle number); deliveries are keyed by (cycle, user) and marked sent only
 * after SMTP accepted them (S7–S12, S16, S17).
 */
import type { Knex } from 'knex';
import { groupKeySql } from './fingerprint.js';
import { stillWantedSql } from './delivery-store.js';
import { digestDue, earliest, nextFixFor, rhythmOfRow, type RhythmAtFix } from './rhythm.js';
import { describeRhythm } from '../contracts/rhythm.js';
import { planDigestMessages } from './channel-store.js';
import { beginFix } from './digest-news.js';
import { wakeSnoozes } from './snooze-store.js';
import { newInRangeSql, resolvedInRangeSql } from './cycle-ranges.js';
import { emailWantedSql, followedFlowsSql } from './followed-flows.js';
import { shareCatalogLock } from './catalog-lock.js';
import { mayActSql } from './acting-user.js';
import type { ActionSource } from '../contracts/email-action.js';

export interface FixedCycle {
  cycleId: number;
  number: number;
  newCount: number;
  resolvedCount: number;
  deliveryCount: number;
  /** Messages to channels (S43), one per channel with news (absent in cycles fixed before channels). */
  channelMessageCount?: number;
  /**
   * When the first person or channel whose rhythm holds news back falls due (ISO; #40): a quiet
   * digest runs its next fix then at the latest. Absent when no rhythm holds any.
   */
  heldUntil?: string;
}

export interface PendingDelivery {
  id: number;
  /** Its id for receivers (in its Message-ID): none for an email planned before such ids. */
  publicId: string | null;
  userId: number;
  recipient: string;
  newCount: number;
  resolvedCount: number;
  openCount: number;
  /** Of the open errors, those snoozed (S46). */
  snoozedCount: number;
  /** The user's flows in this environment when the cycle was fixed. */
  flowIds: string[];
  cycleId: number;
  /**
   * For a person with a rhythm of their own (S41), the last cycle before this one at which their
   * digest was due: the email tells of what is new and newly resolved in the cycles after it, up
   * to this one. Null for an every-cycle digest of this cycle alone.
   */
  sinceCycleId: number | null;
  /** For such a person, when their digests come ("daily at 08:00 (Europe/Berlin)"), as the email tells them. */
  rhythm: string | null;
  /** False when the user left the account or unsubscribed since the cycle was fixed (S38). */
  wanted: boolean;
  /** Whether the recipient may resolve, snooze and assign (no monitor): their email carries those actions (S45). */
  canAct?: boolean;
}

/** A cycle's outcome once its first pass of sending is done. */
export interface CompletedCycle {
  sent: number;
  failed: number;
  /** Recipients refused for now, waiting for their next attempt (S34). */
  deferred: number;
  /** Users who left or unsubscribed after the cycle was fixed (S38). */
  cancelled: number;
  /** The cycle's channel messages (S43) so far: sent, failed, waiting for another attempt. */
  channels?: { sent: number; failed: number; deferred: number };
  /** Every notification of the cycle, by transport (`email`, `slack`, …; S49): those with none are left out. */
  byTransport?: Record<string, NotificationTally>;
  /**
   * One tally of every notification of the environment (S49), by kind, then transport: the cycle's
   * digests, and what was planned since the cycle before was fixed up to this one (connection
   * changes, reminders, assignments, weekly reviews), as each stood when the cycle ended.
   */
  byKind?: Record<string, Record<string, NotificationTally>>;
}

/** How a set of notifications stands: pending ones (`deferred`) wait for another attempt. */
export interface NotificationTally {
  sent: number;
  failed: number;
  deferred: number;
  cancelled: number;
}

const tallyColumns = `(count(*) filter (where status = 'sent'))::int as sent, (count(*) filter (where status = 'failed'))::int as failed,
  (count(*) filter (where status = 'pending'))::int as deferred, (count(*) filter (where status = 'cancelled'))::int as cancelled`;

export interface CycleContext {
  cycleId: number;
  number: number;
  /** When the cycle was fixed (the database's clock): its digests' trends end then (S47). None when not known (a drawing of the gallery). */
  fixedAt?: Date;
  environment: { id: string; name: string; production: boolean };
  account: { id: string; name: string };
}

/** One error row of a digest, with its flow and integration names. */
export interface DigestErrorRow {
  id: number;
  flowId: string;
  flowName: string;
  integrationName: string;
  traceKey: string;
  message: string;
  code: string | null;
  step: string | null;
  occurredAt: Date;
  resolvedAt: Date | null;
  resolutionReason: string | null;
  resolvedBy: string | null;
  /** Where the person followed a link to resolve it (S45): an email, a Slack or Teams message. */
  resolvedVia?: ActionSource | null;
  /** Who the error is assigned to (S32). */
  assignee: string | null;
  /** Errors of this flow in the whole list (before the cap). */
  flowCount: number;
  /** The group this error stands for in a digest's new errors (S42), when it has others in it. */
  group?: ErrorGroupLine;
}

/** A group of a flow's new errors, shown as one line (S42): exact count, when seen, its first trace keys. */
export interface ErrorGroupLine {
  /** The fingerprint the group's errors share; null for errors stored before fingerprints (grouped by message). */
  fingerprint: string | null;
  size: number;
  firstSeen: Date;
  lastSeen: Date;
  examples: string[];
  /** The message of the group's latest error: what the reader sees of it beside its pattern. */
  latestMessage: string;
}

/** Trace keys a group's line shows. */
export const groupExamples = 3;

export { followedFlowsSql };

/**
 * Resolved errors that a user was told of: a digest delivery to the user, not failed, whose flows
 * include the error's flow, announced it as new (S9, S16): the delivery of the cycle that fixed it
 * as new, or one whose range of cycles (a person's own rhythm, S41) holds that cycle.
 */
const toldSql = `(
  exists (select 1 from notifications told
           where told.cycle_id = e.notified_cycle_id and told.user_id = :user and told.status in ('pending', 'sent')
             and e.flow_id = any(told.flow_ids))
  or exists (select 1 from notifications told
           where told.user_id = :user and told.since_cycle_id < e.notified_cycle_id and told.cycle_id > e.notified_cycle_id
             and told.kind = 'digest' and told.status in ('pending', 'sent') and e.flow_id = any(told.flow_ids)))`;

/**
 * Root cause first (S30): error \`e\` was reported while a connection its flow uses was offline
 * (the connection's last recorded change before the report is "offline").
 */
const reportedWhileOffline = (connection: string, error = 'e') => `(select ev.status from connection_events ev
  where ev.connection_id = ${connection} and ev.changed_at <= ${error}.reported_at order by ev.sequence desc limit 1) = 'offline'`;
const folded = (error: string) =>
  `exists (select 1 from flow_connections fc where fc.flow_id = ${error}.flow_id and ${reportedWhileOffline('fc.connection_id', error)})`;

/** New errors of a flow folded into one line per offline connection (S30). */
export interface FoldedErrors {
  /** Errors of the flow reported while one of its connections was offline. */
  errors: number;
  byConnection: { id: string; name: string; since: Date; errors: number }[];
}

/** The columns of an error row as digests and pages show it (errors `e`, flows `f`, integrations `i`). */
export const errorRowColumns = `e.id, e.flow_id, f.name as flow_name, i.name as integration_name, e.trace_key, e.message, e.code,
  e.step, e.occurred_at, e.resolved_at, e.resolution_reason, e.resolved_by, e.resolved_via,
  (select au.email from users au where au.id = e.assignee_id) as assignee`;

/** Digest cycles: fixing a cycle's content, reading what its emails need, completing it. */
export interface DigestStore {
  /** The number of the environment's last fixed cycle (0 before the first). */
  lastCycleNumber(environment: string): Promise<number>;
  /**
   * Fixes cycle `number` of an environment, once: a second call (an activity retry) returns
   * the cycle as first fixed and changes nothing. `at` is the cycle's time, by which each
   * person's rhythm says whether their digest is due (S41).
   */
  fixCycle(environment: string, number: number, at?: Date): Promise<FixedCycle>;
  cycleContext(cycleId: number): Promise<CycleContext>;
  /** Errors reported in each flow in each of the `hours` hours up to the one `end` falls in (that one last), from the hourly trends (S47). */
  reportedByHour(environment: string, flowIds: string[], end: Date, hours: number): Promise<Map<string, number[]>>;
  /**
   * A cycle's deliveries still waiting for their first attempt, in id order, after the delivery
   * `afterId`; or one user's. Each says whether it is still wanted (S38).
   */
  pendingDeliveries(cycleId: number, limit: number, afterId?: number, userId?: number): Promise<PendingDelivery[]>;
  /** These digest deliveries, whatever their cycle, if still pending (deferred ones, when due). */
  /** Pending deliveries by id; with `anyStatus`, whatever became of them (to show an email again, S27). */
  deliveriesByIds(ids: number[], anyStatus?: boolean): Promise<PendingDelivery[]>;
  /** Deliveries of the cycle still waiting for their first attempt. */
  countPending(cycleId: number): Promise<number>;
  /**
   * The new errors of a cycle in these flows, at most `perFlow` of each flow, in digest order
   * (by flow name, then time), each with its flow's exact count. One query serves a whole batch
   * of deliveries: each user's first rows are a prefix of its flows' lists.
   */
  /** The first new errors of these flows (those not folded into an offline connection's line, S30). */
  /** With `sinceCycleId`, those of a person's range of cycles after it (S41), this cycle's included. */
  newErrorsByFlow(cycleId: number, flowIds: string[], perFlow: number, sinceCycleId?: number | null): Promise<Map<string, DigestErrorRow[]>>;
  /** The cycle's (or the range's) new errors reported while a connection of their flow was offline, per flow (S30). */
  foldedByFlow(cycleId: number, sinceCycleId?: number | null): Promise<Map<string, FoldedErrors>>;
  /** The first `limit` errors of a cycle (or range) resolved in these flows that this user was told of (S9). */
  resolvedErrors(cycleId: number, userId: number, flowIds: string[], limit: number, sinceCycleId?: number | null): Promise<DigestErrorRow[]>;
  /** Marks the cycle's first pass done; its outcome so far, deferred recipients included. */
  completeCycle(cycleId: number): Promise<CompletedCycle>;
}

export function createDigestStore(db: Knex): DigestStore {
  return {
    async lastCycleNumber(environment: string): Promise<number> {
      const row = await db('digest_cycles').where({ environment_id: environment }).max({ n: 'number' }).first();
      return Number(row?.n ?? 0);
    },

    async fixCycle(environment: string, number: number, at = new Date()): Promise<FixedCycle> {
      // The news this fix reads is taken first, in a statement of its own (stores/digest-news.ts).
      const taken = await beginFix(db, environment, number);
      return db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`herald.digest.${environment}`]);
        await shareCatalogLock(trx);
        const existing = await trx('digest_cycles').where({ environment_id: environment, number }).first();
        // Fixed by an attempt before this one: what rhythms hold back is worked out again at the next cycle.
        if (existing) return { ...toFixed(existing), heldUntil: at.toISOString() };
        if (taken === null) throw new Error(`cycle ${number} of environment ${environment} was begun but is not there`);
        const [cycle] = await trx('digest_cycles')
          .insert({ id: taken, environment_id: environment, number, new_count: 0, resolved_count: 0, delivery_count: 0 })
          .returning('*');
        const cycleId = cycle.id as number;
        // Snoozes whose time has come end: their errors are new in this cycle (S46).
        const nextSnoozeEnd = await wakeSnoozes(trx, environment, cycleId, at);
        // Errors come stamped with the cycle that tells them (#40): nothing to write per error. Only
        // errors stored without a stamp (by hand, or by a release before stamps) are stamped here.
        await trx('errors').where({ environment_id: environment, status: 'open' }).whereNull('notified_cycle_id').whereNull('snooze_id').update({ notified_cycle_id: cycleId });
        // Errors resolved before any digest announced them were never notified: they stay unmentioned (S10).
        await trx('errors')
          .where({ environment_id: environment })
          .whereIn('status', ['resolved', 'auto_resolved'])
          .whereNotNull('notified_cycle_id')
          .whereNull('resolution_notified_cycle_id')
          .update({ resolution_notified_cycle_id: cycleId });
        const { rows: [counts] } = await trx.raw<{ rows: { new: string; resolved: string }[] }>(
          `select (select count(*) from errors e where ${newInRangeSql(null)}) as new,
                  (select count(*) from errors e where ${resolvedInRangeSql(null)}) as resolved`,
          { cycle: cycleId },
        );
        const newCount = Number(counts!.new);
        const resolvedCount = Number(counts!.resolved);

        // Persons with a rhythm of their own (S41): whose digest is due at this cycle's time, and
        // from which cycle on it tells; the rest get every cycle, this cycle alone.
        const due: number[] = [];
        const notDue: number[] = [];
        const rhythms: RhythmAtFix[] = [];
        for (const row of await trx('digest_rhythms').where({ environment_id: environment }).select('*')) {
          const rhythm = rhythmOfRow(row);
          const isDue = digestDue(rhythm, row.last_due_at, at);
          (isDue ? due : notDue).push(Number(row.user_id));
          rhythms.push({ rhythm, due: isDue, lastDueAt: row.last_due_at, lastDueCycleId: Number(row.last_due_cycle_id ?? 0) });
        }
        // The last cycle with news, this one included: read only if a rhythm in quiet hours asks (#40).
        let lastNews: Promise<number> | undefined;
        const lastNewsCycleId = () =>
          (lastNews ??=
            newCount + resolvedCount > 0
              ? Promise.resolve(cycleId)
              : trx('digest_cycles').where({ environment_id: environment }).whereRaw('new_count + resolved_count > 0').max({ id: 'id' }).first().then((row) => Number(row?.id ?? 0)));
        const personsHeldUntil = await nextFixFor(rhythms, at, lastNewsCycleId);
        const bindings = { environment, cycle: cycleId, notDue };
        const deliveries = await trx.raw(
          // Counts are taken per flow first (a few hundred rows), then summed per user.
          `with scope as materialized (
             select f.user_id, f.flow_id, r.last_due_cycle_id as since
               from (${followedFlowsSql}) f
               left join digest_rhythms r on r.environment_id = :environment and r.user_id = f.user_id
              where not (f.user_id = any(:notDue::bigint[])) and ${emailWantedSql('f.user_id')}),
           ranges as (select distinct since from scope where since is not null),
           new_per_flow as materialized (
             select null::bigint as since, e.flow_id, count(*) as n from errors e where ${newInRangeSql(null)} group by e.flow_id
             union all
             select r.since, e.flow_id, count(*) as n from ranges r join errors e
                 on e.environment_id = :environment and ${newInRangeSql('r.since')}
              group by r.since, e.flow_id),
           -- Open now (not in their retry window), as the database keeps them per flow; of those, the
           -- snoozed, read through the environment's snoozes (few), not by counting its open errors.
           open_per_flow as materialized (
             select o.flow_id, o.open - o.retrying as n, coalesce(z.n, 0) as snoozed
               from error_open_counts o
               left join (select e.flow_id, count(*) as n from snoozes s join errors e on e.snooze_id = s.id
                           where s.environment_id = :environment and e.status = 'open' group by e.flow_id) z on z.flow_id = o.flow_id
              where o.environment_id = :environment),
           resolved_per_user as (
             select sc.user_id, count(*) as n
               from scope sc join errors e on e.flow_id = sc.flow_id and ${resolvedInRangeSql(null)}
              where sc.since is null and ${toldSql.replaceAll(':user', 'sc.user_id')}
              group by sc.user_id
             union all
             -- Bounded below by the earliest range's start as well (implied, but the index can use
             -- it: without it every resolution of every environment up to this cycle was read).
             select sc.user_id, count(*) as n
               from scope sc join errors e on e.flow_id = sc.flow_id and ${resolvedInRangeSql('sc.since')}
                and e.resolution_notified_cycle_id > (select min(since) from ranges)
              where sc.since is not null and ${toldSql.replaceAll(':user', 'sc.user_id')}
              group by sc.user_id),
           -- Each person's figures are summed from their flows' rows and their resolved ones in one
           -- grouping, not joined person by person: the planner cannot tell how many persons each part
           -- holds, and a nested loop over two thousand of them took most of a second.
           parts as (
             select sc.user_id, coalesce(n.n, 0) as new_count, 0 as resolved_count, coalesce(o.n, 0) as open_count,
                    coalesce(o.snoozed, 0) as snoozed_count, sc.flow_id, sc.since
               from scope sc
               left join new_per_flow n on n.flow_id = sc.flow_id and n.since is not distinct from sc.since
               left join open_per_flow o on o.flow_id = sc.flow_id
             union all
             select r.user_id, 0, r.n, 0, 0, null, null from resolved_per_user r),
           per_user as (
             select user_id, sum(new_count) as new_count, sum(resolved_count) as resolved_count, sum(open_count) as open_count,
                    sum(snoozed_count) as snoozed_count, array_agg(flow_id order by flow_id) filter (where flow_id is not null) as flow_ids,
                    min(since) as since
               from parts group by user_id)
           insert into notifications
             (kind, cycle_id, environment_id, user_id, recipient, new_count, resolved_count, open_count, snoozed_count, flow_ids, since_cycle_id)
           select 'digest', :cycle, :environment, u.id, u.email, p.new_count, p.resolved_count, p.open_count, p.snoozed_count, p.flow_ids, p.since
             from per_user p
             join users u on u.id = p.user_id
            where p.new_count > 0 or p.resolved_count > 0
           returning id`,
          bindings,
        );
        const deliveryCount = deliveries.rows.length as number;
        // Who followed flows here but had nothing new or resolved: no email, and "My messages" says why (S27).
        await trx.raw(
          `insert into digest_skips (cycle_id, user_id)
           select distinct :cycle::bigint, sc.user_id from (${followedFlowsSql}) sc
            where not exists (select 1 from notifications d where d.cycle_id = :cycle and d.user_id = sc.user_id)
              and not (sc.user_id = any(:notDue::bigint[])) and ${emailWantedSql('sc.user_id')}`,
          bindings,
        );
        // Those whose digest was due here: their next one tells from this cycle on.
        if (due.length > 0) {
          await trx('digest_rhythms')
            .where({ environment_id: environment })
            .whereIn('user_id', due)
            .update({ last_due_cycle_id: cycleId, last_due_at: at });
        }
        const channels = await planDigestMessages(trx, environment, cycleId, at, lastNewsCycleId);
        const [fixed] = await trx('digest_cycles')
          .where({ id: cycleId })
          .update({ new_count: newCount, resolved_count: resolvedCount, delivery_count: deliveryCount, channel_message_count: channels.count })
          .returning('*');
        const heldUntil = earliest([personsHeldUntil, channels.heldUntil, nextSnoozeEnd].filter((t) => t !== null));
        return { ...toFixed(fixed), ...(heldUntil && { heldUntil: heldUntil.toISOString() }) };
      });
    },

    async cycleContext(cycleId: number): Promise<CycleContext> {
      const row = await db('digest_cycles as c')
        .join('environments as e', 'e.id', 'c.environment_id')
        .join('accounts as a', 'a.id', 'e.account_id')
        .where('c.id', cycleId)
        .first('c.id', 'c.number', 'c.fixed_at', 'e.id as environment_id', 'e.name as environment_name', 'e.production', 'a.id as account_id', 'a.name as account_name');
      if (!row) throw new Error(`no digest cycle ${cycleId}`);
      return {
        cycleId: row.id,
        number: row.number,
        fixedAt: row.fixed_at ?? undefined,
        environment: { id: row.environment_id, name: row.environment_name, production: row.production },
        account: { id: row.account_id, name: row.account_name },
      };
    },

    async reportedByHour(environment: string, flowIds: string[], end: Date, hours: number): Promise<Map<string, number[]>> {
      const last = Math.floor(end.getTime() / 3_600_000);
      const counts = new Map(flowIds.map((id) => [id, Array.from({ length: hours }, () => 0)]));
      if (flowIds.length === 0) return counts;
      const rows = await db('error_trends')
        .where('environment_id', environment)
        .whereIn('flow_id', flowIds)
        .whereBetween('hour', [new Date((last - hours + 1) * 3_600_000), new Date(last * 3_600_000)])
        .select('flow_id', 'hour', 'reported');
      for (const row of rows) counts.get(row.flow_id)![hours - 1 - (last - Math.floor((row.hour as Date).getTime() / 3_600_000))] = row.reported;
      return counts;
    },

    async pendingDeliveries(cycleId: number, limit: number, afterId = 0, userId?: number): Promise<PendingDelivery[]> {
      // The cycle's news is read once for the page, not once per delivery.
      const query = deliveryRows('(select flows from news)')
        .with('news', db.raw(
          `select coalesce(array_agg(distinct flow_id), '{}') as flows from errors e
            where ${newInRangeSql(null)} or ${resolvedInRangeSql(null)}`,
          { cycle: cycleId },
        ))
        .where({ 'd.cycle_id': cycleId, 'd.status': 'pending' })
        .whereNull('d.retry_at')
        .where('d.id', '>', afterId);
      if (userId !== undefined) query.where('d.user_id', userId);
      return (await query.orderBy('d.id').limit(limit)).map(toDelivery);
    },

    async deliveriesByIds(ids: number[], anyStatus = false): Promise<PendingDelivery[]> {
      if (ids.length === 0) return [];
      const query = deliveryRows().whereIn('d.id', ids).where({ 'd.kind': 'digest' }).orderBy('d.id');
      if (!anyStatus) query.where({ 'd.status': 'pending' });
      return (await query).map(toDelivery);
    },

    async countPending(cycleId: number): Promise<number> {
      const row = await db('notifications').where({ cycle_id: cycleId, status: 'pending' }).whereNull('retry_at').whereNull('channel_id').count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },

    async newErrorsByFlow(cycleId: number, flowIds: string[], perFlow: number, sinceCycleId: number | null = null): Promise<Map<string, DigestErrorRow[]>> {
      // One line per group of a flow (S42): its first error, the group's exact count, first and
      // last time seen, first trace keys and latest message. Errors stored before fingerprints group by message.
      const rows = await db.raw(
        `select * from (
           select ${errorRowColumns}, g.n as group_size, g.first_seen, g.last_seen, g.examples, g.fingerprint as group_fingerprint, le.message as latest_message,
                  sum(g.n) over (partition by g.flow_id) as flow_count,
                  row_number() over (partition by g.flow_id order by g.first_seen, e.id) as position
             from (select ce.flow_id, max(ce.fingerprint) as fingerprint, count(*) as n, min(ce.occurred_at) as first_seen, max(ce.occurred_at) as last_seen,
                          (array_agg(ce.id order by ce.occurred_at, ce.id))[1] as first_id,
                          (array_agg(ce.id order by ce.occurred_at desc, ce.id desc))[1] as latest_id,
                          (array_agg(ce.trace_key order by ce.occurred_at, ce.id))[1:${groupExamples}] as examples
                     from errors ce
                    where ${newInRangeSql(sinceCycleId === null ? null : ':since', 'ce')} and ce.flow_id = any(:flows) and not ${folded('ce')}
                    group by ce.flow_id, ${groupKeySql('ce')}) g
             join errors e on e.id = g.first_id join errors le on le.id = g.latest_id join flows f on f.id = e.flow_id join integrations i on i.id = f.integration_id) x
          where position <= :perFlow order by flow_name, flow_id, position`,
        { cycle: cycleId, flows: flowIds, perFlow, since: sinceCycleId },
      );
      const byFlow = new Map<string, DigestErrorRow[]>();
      for (const row of rows.rows.map(toGroupRow)) {
        const list = byFlow.get(row.flowId) ?? [];
        list.push(row);
        byFlow.set(row.flowId, list);
      }
      return byFlow;
    },

    async foldedByFlow(cycleId: number, sinceCycleId: number | null = null): Promise<Map<string, FoldedErrors>> {
      const since = sinceCycleId === null ? null : ':since';
      const rows = await db.raw(
        `select e.flow_id, c.id as connection_id, c.name as connection_name, count(*) as n,
                min((select ev.changed_at from connection_events ev where ev.connection_id = c.id and ev.changed_at <= e.reported_at
                      order by ev.sequence desc limit 1)) as since,
                (select count(*) from errors e2 where ${newInRangeSql(since, 'e2')} and e2.flow_id = e.flow_id
                   and ${folded('e2')}) as flow_errors
           from errors e
           join flow_connections fc on fc.flow_id = e.flow_id
           join connections c on c.id = fc.connection_id
          where ${newInRangeSql(since)} and ${reportedWhileOffline('fc.connection_id')}
          group by e.flow_id, c.id, c.name`,
        { cycle: cycleId, since: sinceCycleId },
      );
      const byFlow = new Map<string, FoldedErrors>();
      for (const row of rows.rows) {
        const folded = byFlow.get(row.flow_id) ?? { errors: Number(row.flow_errors), byConnection: [] };
        folded.byConnection.push({ id: row.connection_id, name: row.connection_name, since: row.since, errors: Number(row.n) });
        byFlow.set(row.flow_id, folded);
      }
      return byFlow;
    },

    async resolvedErrors(cycleId: number, userId: number, flowIds: string[], limit: number, sinceCycleId: number | null = null): Promise<DigestErrorRow[]> {
      const rows = await db.raw(
        `select * from (
           select ${errorRowColumns},
                  count(*) over (partition by e.flow_id) as flow_count,
                  row_number() over (order by f.name, e.flow_id, e.resolved_at, e.id) as position
             from errors e join flows f on f.id = e.flow_id join integrations i on i.id = f.integration_id
            where ${resolvedInRangeSql(sinceCycleId === null ? null : ':since')} and e.flow_id = any(:flows) and ${toldSql}) x
          where position <= :limit order by position`,
        { cycle: cycleId, flows: flowIds, user: userId, limit, since: sinceCycleId },
      );
      return rows.rows.map(toRow);
    },

    async completeCycle(cycleId: number): Promise<CompletedCycle> {
      await db('digest_cycles').where({ id: cycleId }).whereNull('completed_at').update({ completed_at: db.fn.now() });
      // How the cycle's notifications stand, by the transport they went by (S43, S49): pending ones
      // wait for another attempt. The emails' and the channels' totals are read from the same rows.
      // The other kinds' since the cycle before was fixed: their own workflows send them as they come.
      const { rows } = await db.raw(
        `with cycle as (
           select c.id, c.environment_id, c.fixed_at,
                  (select max(b.fixed_at) from digest_cycles b where b.environment_id = c.environment_id and b.number < c.number) as since
             from digest_cycles c where c.id = :cycle)
         select n.kind, coalesce(ch.kind, 'email') as transport, ${tallyColumns}
           from (select n.* from cycle join notifications n on n.cycle_id = cycle.id
                 union all
                 select n.* from cycle join notifications n
                     on n.environment_id = cycle.environment_id and n.cycle_id is null
                    and n.created_at <= cycle.fixed_at and n.created_at > coalesce(cycle.since, '-infinity')) n
           left join channels ch on ch.id = n.channel_id
          group by 1, 2`,
        { cycle: cycleId },
      );
      const byKind: Record<string, Record<string, NotificationTally>> = {};
      for (const { kind, transport, ...tally } of rows as (NotificationTally & { kind: string; transport: string })[]) {
        if (tally.sent + tally.failed + tally.deferred + tally.cancelled > 0) (byKind[kind] ??= {})[transport] = tally;
      }
      // The cycle's own: its digests, by email and by each channel.
      const byTransport = byKind.digest ?? {};
      const email: NotificationTally = { sent: 0, failed: 0, deferred: 0, cancelled: 0, ...byTransport.email };
      const channels = { sent: 0, failed: 0, deferred: 0 };
      for (const [transport, tally] of Object.entries(byTransport)) {
        if (transport !== 'email') for (const key of ['sent', 'failed', 'deferred'] as const) channels[key] += tally[key];
      }
      return { ...email, channels, byTransport, byKind };
    },
  };

  function deliveryRows(newsFlows?: string) {
    return db('notifications as d').whereNull('d.channel_id').select(
      'd.id', 'd.public_id', 'd.cycle_id', 'd.user_id', 'd.recipient', 'd.new_count', 'd.resolved_count', 'd.open_count', 'd.snoozed_count', 'd.flow_ids', 'd.since_cycle_id',
      db.raw(`case when d.since_cycle_id is not null then
        (select row_to_json(r) from digest_rhythms r where r.user_id = d.user_id and r.environment_id = d.environment_id) end as rhythm`),
      db.raw(`${stillWantedSql(newsFlows)} as wanted`),
      // Whether the recipient may act on errors (S45): a monitor's email carries no action.
      db.raw(`${mayActSql('d')} as can_act`),
    );
  }
}


function toDelivery(r: Record<string, unknown>): PendingDelivery {
  return {
    id: r.id as number,
    publicId: (r.public_id as string | null) ?? null,
    cycleId: r.cycle_id as number,
    userId: r.user_id as number,
    recipient: r.recipient as string,
    newCount: r.new_count as number,
    resolvedCount: r.resolved_count as number,
    openCount: r.open_count as number,
    snoozedCount: r.snoozed_count as number,
    flowIds: r.flow_ids as string[],
    sinceCycleId: r.since_cycle_id === null ? null : Number(r.since_cycle_id),
    rhythm: r.rhythm ? describeRhythm(rhythmOfRow(r.rhythm as Record<string, unknown>)) : null,
    wanted: r.wanted as boolean,
    canAct: r.can_act as boolean,
  };
}

function toFixed(row: Record<string, unknown>): FixedCycle {
  return {
    cycleId: row.id as number,
    number: row.number as number,
    newCount: row.new_count as number,
    resolvedCount: row.resolved_count as number,
    deliveryCount: row.delivery_count as number,
    channelMessageCount: row.channel_message_count as number,
  };
}

function toRow(r: Record<string, unknown>): DigestErrorRow {
  return { ...toErrorRow(r), flowCount: Number(r.flow_count) };
}

/** A group's line: its first error, and the group when it holds more than that one. */
function toGroupRow(r: Record<string, unknown>): DigestErrorRow {
  const size = Number(r.group_size);
  const group = { fingerprint: r.group_fingerprint as string | null, size, firstSeen: r.first_seen as Date, lastSeen: r.last_seen as Date, examples: r.examples as string[], latestMessage: r.latest_message as string };
  return { ...toRow(r), ...(size > 1 && { group }) };
}

/** An error row read with {@link errorRowColumns}. */
export function toErrorRow(r: Record<string, unknown>): Omit<DigestErrorRow, 'flowCount'> {
  return {
    id: r.id as number,
    flowId: r.flow_id as string,
    flowName: r.flow_name as string,
    integrationName: r.integration_name as string,
    traceKey: r.trace_key as string,
    message: r.message as string,
    code: r.code as string | null,
    step: r.step as string | null,
    occurredAt: r.occurred_at as Date,
    resolvedAt: r.resolved_at as Date | null,
    resolutionReason: r.resolution_reason as string | null,
    resolvedBy: r.resolved_by as string | null,
    resolvedVia: (r.resolved_via as ActionSource | null | undefined) ?? null,
    assignee: r.assignee as string | null,
  };
}
