/**
 * Reminders (S31): errors open longer than their environment's threshold, listed once a day at
 * most to each user who follows their flows, until resolved. Planned as deliveries of kind
 * `reminder` at the digest workflow's time (`now`), so "once a day" holds under retries.
 */
import { mayActSql } from './acting-user.js';
import type { Knex } from 'knex';
import { addressingOfRow, type EmailAddressing } from './email-addressing.js';
import { planReminderMessages } from './channel-store.js';
import { emailWantedSql, followedFlowsSql } from './followed-flows.js';
import { earliest, personsInQuietHours } from './rhythm.js';

export interface ReminderEmailContext extends EmailAddressing {
  /** Errors still open, oldest first, at most {@link reminderListLimit}. */
  errors: { id: number; traceKey: string; message: string; flowName: string; reportedAt: Date; assignee: string | null }[];
  /** All of them, beyond the list. */
  count: number;
  /** The environment's threshold: errors open longer than this are reminded of. */
  thresholdMs: number;
  /** Whether the recipient may resolve, snooze and assign (no monitor): their rows carry those actions (S45). */
  canAct?: boolean;
}

export const reminderListLimit = 50;

export interface ReminderStore {
  /** Plans today's reminders of an environment at `now`: one per user not reminded there in the last day. */
  planReminders(environment: string, now: Date): Promise<number>;
  /**
   * When a look after `now` may find someone to remind (#40: a digest looks then, not hourly): when
   * the first open error not yet past the threshold passes it, when the earliest person or channel
   * reminded in the last day may be reminded again, when a person's quiet hours end, and a day from
   * now at the latest (people who began following since). Null when nothing is open: news brings a
   * look.
   */
  nextLook(environment: string, now: Date): Promise<Date | null>;
  /** The environment's pending reminders, or these deliveries (`anyStatus`: whatever became of them, to show one again). */
  pendingEmails(which: { environment: string } | { deliveryIds: number[]; anyStatus?: boolean }): Promise<ReminderEmailContext[]>;
}

// A snoozed error is not reminded of while it sleeps (S46).
const staleSql = `e.status = 'open' and e.snooze_id is null and e.reported_at < d.planned_at - make_interval(secs => env.remind_after_ms / 1000.0)`;

/**
 * Errors of the environment open since before its threshold, at `:now`. The cutoff is worked out
 * once, not per row: on a million open errors that is 0.15 s instead of 0.65 s.
 */
const staleAtNowSql = `e.environment_id = :environment and e.status = 'open' and e.snooze_id is null
  and e.reported_at < (select :now::timestamptz - make_interval(secs => env.remind_after_ms / 1000.0) from environments env where env.id = :environment)`;

export function createReminderStore(db: Knex): ReminderStore {
  return {
    async planReminders(environment, now) {
      // Most looks find nothing: say so without working out who follows what.
      const stale = await db.raw(
        `select exists (select 1 from errors e where ${staleAtNowSql}) as any`,
        { environment, now: now.toISOString() },
      );
      if (!stale.rows[0].any) return 0;
      // Persons in their quiet hours (S41) are reminded at the first look after them; those whose
      // subscriptions go to a channel instead of email (S43), by the channel alone.
      const quiet = (await personsInQuietHours(db, now, { environment })).map((person) => person.userId);
      const planned = await db.raw(
        `with scope as materialized (${followedFlowsSql}),
         stale as materialized (
           select e.flow_id, count(*) as n from errors e where ${staleAtNowSql} group by e.flow_id),
         per_user as (
           select sc.user_id, sum(s.n) as n, array_agg(sc.flow_id order by sc.flow_id) as flow_ids
             from scope sc join stale s on s.flow_id = sc.flow_id
            group by sc.user_id)
         insert into notifications (kind, environment_id, user_id, recipient, open_count, flow_ids, planned_at)
         select 'reminder', :environment, u.id, u.email, p.n, p.flow_ids, :now::timestamptz
           from per_user p join users u on u.id = p.user_id
          where not exists (
            select 1 from notifications r
             where r.kind = 'reminder' and r.user_id = p.user_id and r.environment_id = :environment
               and r.planned_at > :now::timestamptz - interval '1 day')
            and not (p.user_id = any(:quiet::bigint[]))
            and ${emailWantedSql('p.user_id')}
         returning id`,
        { environment, now: now.toISOString(), quiet },
      );
      // Channels (S43) are reminded once a day too, whatever a person's quiet hours.
      await planReminderMessages(db, environment, now, staleAtNowSql);
      return planned.rows.length;
    },

    async nextLook(environment, now) {
      const { rows } = await db.raw(
        `select (select min(e.reported_at) + make_interval(secs => env.remind_after_ms / 1000.0) from errors e
                  where e.environment_id = :environment and e.status = 'open' and e.snooze_id is null
                    and e.reported_at >= :now::timestamptz - make_interval(secs => env.remind_after_ms / 1000.0)) as first_stale,
                exists (select 1 from errors e where e.environment_id = :environment and e.status = 'open' and e.snooze_id is null) as any_open,
                (select min(r.planned_at) + interval '1 day' from notifications r
                  where r.kind = 'reminder' and r.environment_id = :environment and r.planned_at > :now::timestamptz - interval '1 day') as again
           from environments env where env.id = :environment`,
        { environment, now: now.toISOString() },
      );
      const row = rows[0];
      if (!row?.any_open) return null;
      const quietEnds = (await personsInQuietHours(db, now, { environment })).map((person) => person.until);
      return earliest([row.first_stale, row.again, ...quietEnds, new Date(now.getTime() + 24 * 60 * 60_000)].filter((t): t is Date => t instanceof Date));
    },

    async pendingEmails(which) {
      const query = db('notifications as d')
        .join('environments as env', 'env.id', 'd.environment_id')
        .join('accounts as acc', 'acc.id', 'env.account_id')
        .where({ 'd.kind': 'reminder' })
        .whereNull('d.channel_id')
        .orderBy('d.id')
        .select('d.id', 'd.public_id', 'd.user_id', 'd.recipient', 'd.open_count', 'env.id as environment_id', 'env.name as environment_name', 'env.production', 'env.remind_after_ms', 'acc.name as account_name', db.raw(`${mayActSql('d')} as can_act`));
      if ('environment' in which) query.where({ 'd.environment_id': which.environment }).whereNull('d.retry_at');
      else query.whereIn('d.id', which.deliveryIds);
      if (!('deliveryIds' in which && which.anyStatus)) query.where({ 'd.status': 'pending' });
      const rows = await query;
      // The first errors of every reminder, in one statement: a lateral subquery per delivery.
      const listed = rows.length === 0 ? { rows: [] } : await db.raw(
        `select d.id as delivery_id, x.*
           from notifications d
           join environments env on env.id = d.environment_id
           cross join lateral (
             select e.id, e.trace_key, e.message, f.name as flow_name, e.reported_at, au.email as assignee
               from errors e
               join flows f on f.id = e.flow_id
               left join users au on au.id = e.assignee_id
              where e.environment_id = d.environment_id and e.flow_id = any(d.flow_ids) and ${staleSql}
              order by e.id
              limit ${reminderListLimit}) x
          where d.id = any(?::bigint[])
          order by d.id, x.id`,
        [rows.map((row) => row.id)],
      );
      const errorsOf = new Map<number, ReminderEmailContext['errors']>();
      for (const e of listed.rows) {
        const errors = errorsOf.get(Number(e.delivery_id)) ?? [];
        errors.push({ id: Number(e.id), traceKey: e.trace_key, message: e.message, flowName: e.flow_name, reportedAt: e.reported_at, assignee: e.assignee });
        errorsOf.set(Number(e.delivery_id), errors);
      }
      const contexts: ReminderEmailContext[] = rows.map((row) => ({
        ...addressingOfRow(row),
        count: Number(row.open_count),
        thresholdMs: Number(row.remind_after_ms),
        errors: errorsOf.get(Number(row.id)) ?? [],
        canAct: row.can_act as boolean,
      }));
      return contexts;
    },
  };
}
