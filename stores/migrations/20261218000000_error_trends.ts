import type { Knex } from 'knex';

/**
 * Trends (S47): errors reported and resolved per flow per hour, kept as errors are stored and
 * resolved, so that the overview's charts read a table of at most a row per flow and hour, not the
 * errors. PostgreSQL keeps it: a statement-level trigger on `errors` adds, for each statement, what
 * its rows changed, grouped by flow and hour (one report of 10,000 errors is one row's upsert), in
 * the statement's own transaction — exact however reports and resolutions race, whichever code
 * path stores or resolves. Retention's deletes leave it: what happened stays counted.
 *
 * An hour is UTC's; `reported` counts errors by `reported_at`, `resolved` by `resolved_at` (by a
 * person or by Herald). What was stored before this migration is counted from the errors kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table error_trends (
      environment_id text not null references environments(id) on delete cascade,
      flow_id text not null,
      hour timestamptz not null,
      reported integer not null default 0,
      resolved integer not null default 0,
      primary key (environment_id, flow_id, hour)
    )`);
  await knex.raw(`
    create function error_trends_add(deltas jsonb) returns void language sql as $$
      insert into error_trends (environment_id, flow_id, hour, reported, resolved)
      select d.environment_id, d.flow_id, d.hour, d.reported, d.resolved
        from jsonb_to_recordset(deltas) as d(environment_id text, flow_id text, hour timestamptz, reported integer, resolved integer)
       order by 1, 2, 3
      on conflict (environment_id, flow_id, hour)
      do update set reported = error_trends.reported + excluded.reported, resolved = error_trends.resolved + excluded.resolved
    $$`);
  await knex.raw(`
    create function error_trends_inserted() returns trigger language plpgsql as $$
    begin
      perform error_trends_add(coalesce(jsonb_agg(t), '[]'))
        from (select environment_id, flow_id, hour, sum(reported) as reported, sum(resolved) as resolved
                from (select environment_id, flow_id, date_trunc('hour', reported_at) as hour, 1 as reported, 0 as resolved from new_errors
                      union all
                      select environment_id, flow_id, date_trunc('hour', resolved_at), 0, 1 from new_errors
                       where status in ('resolved', 'auto_resolved') and resolved_at is not null) c
               group by 1, 2, 3) t;
      return null;
    end $$`);
  // A resolution counts at its hour; one undone (none is today) would count back at the hour it had.
  await knex.raw(`
    create function error_trends_updated() returns trigger language plpgsql as $$
    begin
      perform error_trends_add(coalesce(jsonb_agg(t), '[]'))
        from (select environment_id, flow_id, hour, 0 as reported, sum(change) as resolved
                from (select n.environment_id, n.flow_id, date_trunc('hour', n.resolved_at) as hour, 1 as change
                        from new_errors n join old_errors o on o.id = n.id
                       where n.status in ('resolved', 'auto_resolved') and o.status not in ('resolved', 'auto_resolved') and n.resolved_at is not null
                      union all
                      select o.environment_id, o.flow_id, date_trunc('hour', o.resolved_at), -1
                        from new_errors n join old_errors o on o.id = n.id
                       where o.status in ('resolved', 'auto_resolved') and n.status not in ('resolved', 'auto_resolved') and o.resolved_at is not null) c
               group by 1, 2, 3 having sum(change) <> 0) t;
      return null;
    end $$`);
  await knex.raw(`create trigger error_trends_inserted after insert on errors referencing new table as new_errors for each statement execute function error_trends_inserted()`);
  await knex.raw(`create trigger error_trends_updated after update on errors referencing old table as old_errors new table as new_errors for each statement execute function error_trends_updated()`);
  await knex.raw(`
    insert into error_trends (environment_id, flow_id, hour, reported, resolved)
    select environment_id, flow_id, hour, sum(reported), sum(resolved)
      from (select environment_id, flow_id, date_trunc('hour', reported_at) as hour, 1 as reported, 0 as resolved from errors
            union all
            select environment_id, flow_id, date_trunc('hour', resolved_at), 0, 1 from errors where status in ('resolved', 'auto_resolved') and resolved_at is not null) e
     group by 1, 2, 3`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists error_trends_updated on errors');
  await knex.raw('drop trigger if exists error_trends_inserted on errors');
  await knex.raw('drop function if exists error_trends_updated()');
  await knex.raw('drop function if exists error_trends_inserted()');
  await knex.raw('drop function if exists error_trends_add(jsonb)');
  await knex.raw('drop table if exists error_trends');
}
