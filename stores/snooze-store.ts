/**
 * Snoozes (S46): "not now" for an error or a group of a flow's errors (S42). A snoozed error is
 * left out of digests' new lists and of reminders, and counted among the open as snoozed; the
 * errors reported again for a snoozed error's trace key, or in a snoozed group, join the snooze.
 * It ends at its time (at the digest's next fix), when it has happened its number of times more,
 * or when none of its errors is open any more; its open errors are then told as new, once. A
 * snooze is the account's, not a person's, and audited.
 *
 * An error snoozed before any digest told of it carries no cycle stamp (stores/digest-news.ts)
 * while it sleeps: nobody was told of it, so its resolution is no news either.
 */
import type { Knex } from 'knex';
import { InputRefusedError } from '../contracts/problems.js';
import { actingUser, namedErrors } from './acting-user.js';
import { recordAudit } from './audit-store.js';
import { groupKeySql, inGroup } from './fingerprint.js';
import { newsCycleSql, raiseDigestNews, type TellDigest } from './digest-news.js';
import type { ActionSource } from '../contracts/email-action.js';

export interface SnoozeRequest {
  environment: string;
  /** These errors (each with the errors reported again for its trace key) … */
  errorIds?: number[];
  /** … or a group of a flow's errors. */
  group?: { flow: string; key: string };
  /** Until this time … */
  until?: Date;
  /** … or until this many more errors of it are reported. */
  events?: number;
  /** Who snoozes: a user of the account who is no monitor. */
  user: string;
  /** Where they followed a link to snooze (S45): an email they received, a Slack or Teams message. */
  via?: ActionSource;
}

export interface Snoozed {
  /** The errors now snoozed. */
  errors: number[];
  /** Whether the digest should be told (#40): its next fix counts them, and learns when the snooze ends. */
  tellDigest: boolean;
  until: string | null;
  events: number | null;
}

/** Open or retrying: the errors a snooze holds. */
const holdable = `status in ('open', 'retrying')`;

export function createSnoozeStore(db: Knex) {
  return {
    /**
     * Snoozes, as `request` says, at `now`; `tell`, when given, tells the digest of it once it is
     * stored (its next fix counts them, and learns when the snooze ends; #40).
     */
    async snooze(request: SnoozeRequest, now: Date, tell?: TellDigest): Promise<Snoozed> {
      const { errorIds = [], group, until, events } = request;
      if ((until === undefined) === (events === undefined)) {
        throw new InputRefusedError([{ field: 'until', message: 'say until when, or for how many more errors (one of them)' }]);
      }
      if (until !== undefined && until.getTime() <= now.getTime()) throw new InputRefusedError([{ field: 'until', message: 'must be a time to come' }]);
      const user = await actingUser(db, request.environment, request.user, 'snooze');
      const snoozed = await db.transaction(async (trx) => {
        // A fix cannot take the environment's coming cycle meanwhile: what no cycle told is known here.
        const { news_cycle_id: coming } = await trx('environments').where({ id: request.environment }).forNoKeyUpdate().first('news_cycle_id');
        const targets = group ? [{ flow: group.flow, group: group.key }] : await errorTargets(trx, request.environment, errorIds);
        const snoozed: number[] = [];
        for (const target of targets) {
          const [snooze] = await trx('snoozes')
            .insert({
              environment_id: request.environment,
              flow_id: target.flow,
              trace_key: 'traceKey' in target ? target.traceKey : null,
              group_key: 'group' in target ? target.group : null,
              until: until ?? null,
              events_left: events ?? null,
              snoozed_by: user.email,
              via: request.via ?? null,
              snoozed_at: now,
            })
            .returning('id');
          const held = trx('errors').where({ environment_id: request.environment, flow_id: target.flow }).whereRaw(holdable);
          if ('traceKey' in target) held.where({ trace_key: target.traceKey });
          else {
            const { sql, bindings } = inGroup('errors', target.group);
            held.whereRaw(sql, bindings);
          }
          const rows = await held
            .update({
              snooze_id: snooze.id,
              // Not yet told (no stamp, or the coming cycle's): told when the snooze ends, not before.
              notified_cycle_id: trx.raw('case when notified_cycle_id >= ? then null else notified_cycle_id end', [coming]),
            })
            .returning('id');
          if (rows.length === 0) throw new InputRefusedError([{ field: group ? 'group' : 'errorIds', message: 'has no open error to snooze' }]);
          snoozed.push(...rows.map((row) => Number(row.id)));
          await recordAudit(trx, {
            account: user.account,
            actor: user.email,
            action: 'snoozed',
            kind: 'errors',
            entity: `${request.environment}/${target.flow}/${'traceKey' in target ? target.traceKey : target.group}`,
            detail: { errors: rows.length, ...(until ? { until: until.toISOString() } : { events }), ...(request.via && { via: request.via }) },
          });
        }
        const tellDigest = await raiseDigestNews(trx, request.environment);
        return { errors: snoozed, tellDigest, until: until?.toISOString() ?? null, events: events ?? null };
      });
      if (snoozed.tellDigest && tell) await tell(request.environment);
      return snoozed;
    },
  };
}

/** The flow and trace key of each error named, once each; refused with words unless all are this environment's and open. */
async function errorTargets(trx: Knex, environment: string, ids: number[]): Promise<{ flow: string; traceKey: string }[]> {
  if (ids.length === 0) throw new InputRefusedError([{ field: 'errorIds', message: 'name the errors to snooze, or a group' }]);
  const rows = await namedErrors(trx, environment, ids, ['flow_id', 'trace_key', 'status']);
  const closed = rows.filter((row) => row.status !== 'open' && row.status !== 'retrying').map((row) => row.id);
  if (closed.length > 0) throw new InputRefusedError([{ field: 'errorIds', message: `errors ${closed.join(', ')} are resolved: only open errors are snoozed` }]);
  const targets = new Map(rows.map((row) => [`${row.flow_id}\n${row.trace_key}`, { flow: row.flow_id as string, traceKey: row.trace_key as string }]));
  return [...targets.values()];
}

/**
 * In a cycle's fix: ends the environment's snoozes whose time has come by `at`; their open errors
 * are told as new by cycle `cycleId`. Answers when the next snooze ends, for the digest to look then.
 */
export async function wakeSnoozes(trx: Knex, environment: string, cycleId: number, at: Date): Promise<Date | null> {
  await trx.raw(
    `with ended as (
       update snoozes set ended_at = :at, end_reason = 'its time came'
        where environment_id = :environment and ended_at is null and until <= :at
       returning id)
     update errors set snooze_id = null, notified_cycle_id = case when status = 'open' then :cycle else notified_cycle_id end
      where snooze_id in (select id from ended) and ${holdable}`,
    { environment, at, cycle: cycleId },
  );
  const next = await trx('snoozes').where({ environment_id: environment }).whereNull('ended_at').min({ until: 'until' }).first();
  return next?.until ? new Date(next.until) : null;
}

/** An error a report's transaction let out of a snooze, stamped with the environment's coming cycle. */
export interface WokenError {
  id: number;
  environment_id: string;
  stamp: number | string | null;
}

/**
 * In a report's transaction: its new errors (`ids`) of a snoozed trace key or group join the
 * snooze (and carry no stamp while they sleep); a snooze that has now happened its number of times
 * ends, and its open errors are stamped with the coming cycle, to be told as new. Answers the
 * errors that joined, and those woken.
 */
export async function joinSnoozes(trx: Knex, environment: string, flow: string, ids: number[]): Promise<{ joined: number[]; woken: WokenError[] }> {
  if (ids.length === 0) return { joined: [], woken: [] };
  const holding = await trx('snoozes').where({ environment_id: environment, flow_id: flow }).whereNull('ended_at').first('id');
  if (!holding) return { joined: [], woken: [] };
  const joined = await trx.raw<{ rows: { id: string; snooze_id: string }[] }>(
    `update errors e set snooze_id = s.id, notified_cycle_id = null
       from snoozes s
      where e.id = any(:ids::bigint[]) and s.environment_id = :environment and s.flow_id = :flow and s.ended_at is null
        and (s.trace_key = e.trace_key or s.group_key = ${groupKeySql('e')})
     returning e.id, s.id as snooze_id`,
    { ids, environment, flow },
  );
  const counts = new Map<number, number>();
  for (const row of joined.rows) counts.set(Number(row.snooze_id), (counts.get(Number(row.snooze_id)) ?? 0) + 1);
  const woken: WokenError[] = [];
  for (const [snooze, count] of counts) {
    const ended = await trx('snoozes')
      .where({ id: snooze })
      .whereNotNull('events_left')
      .update({
        events_left: trx.raw('greatest(events_left - ?, 0)', [count]),
        ended_at: trx.raw('case when events_left <= ? then now() end', [count]),
        end_reason: trx.raw(`case when events_left <= ? then 'it happened its number of times' end`, [count]),
      })
      .returning(['id', 'ended_at']);
    if (ended[0]?.ended_at) {
      woken.push(
        ...(await trx('errors')
          .where({ snooze_id: snooze })
          .whereRaw(holdable)
          .update({ snooze_id: null, notified_cycle_id: trx.raw(`case when status = 'open' then ${newsCycleSql('errors.environment_id')} end`) })
          .returning(['id', 'environment_id', 'notified_cycle_id as stamp'])),
      );
    }
  }
  const wokenIds = new Set(woken.map((error) => Number(error.id)));
  return { joined: joined.rows.map((row) => Number(row.id)).filter((id) => !wokenIds.has(id)), woken };
}

/** After these errors were resolved: the snoozes they slept under with no open error left end (S46: a resolve ends a snooze). */
export async function endResolvedSnoozes(trx: Knex, resolvedIds: number[]): Promise<void> {
  if (resolvedIds.length === 0) return;
  await trx.raw(
    `update snoozes s set ended_at = now(), end_reason = 'resolved'
      where s.ended_at is null
        and s.id in (select snooze_id from errors where id = any(:resolvedIds::bigint[]) and snooze_id is not null)
        and not exists (select 1 from errors e where e.snooze_id = s.id and e.${holdable})`,
    { resolvedIds },
  );
}
