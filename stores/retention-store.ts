/**
 * Retention (S39): what Herald keeps only for a while. Resolved errors, finished digest cycles and
 * email records older than the retention age are deleted, a bounded batch of each per call, each
 * batch its own short statement, so that no table is locked for long and reports and digests go on
 * beside it. What is never deleted:
 * - an open or retrying error, however old;
 * - a resolved error whose resolution a digest has still to announce (S9);
 * - a digest cycle that an error still names (it announced the error, or its resolution), that an
 *   email record still names, or that is its environment's latest (the next cycle's number follows it);
 * - an email or channel message still pending (planned, or deferred by a 4xx, a 429 or a 5xx).
 * The hourly trends (S47) go too, once older than the retention age and than the 31 days the
 * overview reads; the counts of errors open now are not history, and stay.
 */
import type { Knex } from 'knex';

/** Rows deleted by one call, and whether more were left for the next. */
export interface PurgeRound {
  errors: number;
  deliveries: number;
  cycles: number;
  /** Hours of trends, and days of groups' trends (S47). */
  trends: number;
  /** Some kind filled its batch: call again. */
  more: boolean;
}

export async function purgeOnce(db: Knex, cutoff: Date, batchSize: number): Promise<PurgeRound> {
  // Notifications first (emails and channel messages, S43): the cycles they named are freed.
  const deliveries = await deleted(
    db,
    `delete from notifications where id in (
       select id from notifications
        where status <> 'pending' and created_at < :cutoff
        order by created_at limit :batchSize)`,
    { cutoff, batchSize },
  );
  const errors = await deleted(
    db,
    `delete from errors where id in (
       select id from errors
        where status in ('resolved', 'auto_resolved') and resolved_at < :cutoff
          -- never told; or told, and its resolution told too (its cycle fixed), or never to be (S10)
          and (notified_cycle_id is null or resolution_notified_cycle_id = notified_cycle_id
               or exists (select 1 from digest_cycles c where c.id = errors.resolution_notified_cycle_id))
        order by resolved_at limit :batchSize)`,
    { cutoff, batchSize },
  );
  // A cycle's record of whom it skipped goes with the cycle, in the same statement.
  const cycles = await deleted(
    db,
    `with old as (
       select c.id from digest_cycles c
        where c.completed_at < :cutoff
          and c.number < (select max(latest.number) from digest_cycles latest where latest.environment_id = c.environment_id)
          and not exists (select 1 from errors e where e.notified_cycle_id = c.id)
          and not exists (select 1 from errors e where e.resolution_notified_cycle_id = c.id)
          and not exists (select 1 from notifications d where d.cycle_id = c.id)
        order by c.completed_at limit :batchSize),
     skips as (delete from digest_skips where cycle_id in (select id from old))
     delete from digest_cycles where id in (select id from old)`,
    { cutoff, batchSize },
  );
  const trends = await deleted(
    db,
    `delete from error_trends where (environment_id, flow_id, hour) in (
       select environment_id, flow_id, hour from error_trends
        where hour < least(:cutoff::timestamptz, now() - interval '31 days')
        order by hour limit :batchSize)`,
    { cutoff, batchSize },
  );
  const groupDays = await deleted(
    db,
    `delete from error_group_trends where (environment_id, flow_id, group_key, day) in (
       select environment_id, flow_id, group_key, day from error_group_trends
        where day < least(:cutoff::timestamptz, now() - interval '31 days')::date
        order by day limit :batchSize)`,
    { cutoff, batchSize },
  );
  return { errors, deliveries, cycles, trends: trends + groupDays, more: Math.max(errors, deliveries, cycles, trends, groupDays) >= batchSize };
}

async function deleted(db: Knex, sql: string, bindings: Record<string, unknown>): Promise<number> {
  const result = await db.raw(sql, bindings);
  return result.rowCount ?? 0;
}
