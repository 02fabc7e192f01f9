import type { Knex } from 'knex';

/**
 * Trends (S47): errors reported and resolved per flow per hour, kept as errors are stored and
 * resolved, so that the overview's charts read a table of at most a row per flow and hour, not the
 * errors. PostgreSQL keeps it: statement-level triggers on `errors` add, for each statement, what
 * its rows changed, grouped by flow and hour (one report of 10,000 errors is one row's upsert), in
 * the statement's own transaction — exact however reports and resolutions race, whichever code
 * path stores or resolves. Retention's deletes leave it: what happened stays counted.
 *
 * - `error_trends`: per UTC hour, errors reported (by `reported_at`) and resolved (by
 *   `resolved_at`, by a person or by Herald), and the resolved ones by how long they had been
 *   open (`within_5m` … `later`; errors that recovered in their retry window were never anyone's
 *   to resolve and are left out of these).
 * - `error_open_counts`: per flow, the errors open now, reported less resolved, and how many of
 *   them are still in their retry window (`retrying`).
 * - `error_group_trends`: per UTC day, errors reported in each group of alike errors (S42: its
 *   fingerprint, or its message for errors stored before fingerprints), with a message of it for
 *   its label: for the noisiest groups week on week.
 *
 * What was stored before this migration is counted from the errors kept.
 */
/** What the rows of `table` count for, each `sign` times: each at its hour reported, and the resolved ones at their hour resolved, in their bucket. */
const changes = (table: string, sign: 1 | -1) => `
  select environment_id, flow_id, date_trunc('hour', reported_at) as hour, ${sign} as reported, 0 as resolved, null::integer as bucket,
         case when status = 'retrying' then ${sign} else 0 end as retrying from ${table}
  union all
  select environment_id, flow_id, date_trunc('hour', resolved_at), 0, ${sign}, error_trends_bucket(reported_at, resolved_at, resolution_reason), 0 from ${table}
   where status in ('resolved', 'auto_resolved') and resolved_at is not null`;

/** The key of an error's group (S42), as stores/fingerprint.ts's groupKeySql said when this was written. */
const groupKey = `coalesce(fingerprint, 'message:' || message)`;

const buckets = ['within_5m', 'within_15m', 'within_1h', 'within_4h', 'within_1d', 'within_3d', 'within_7d', 'later'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table error_trends (
      environment_id text not null references environments(id) on delete cascade,
      flow_id text not null,
      hour timestamptz not null,
      reported integer not null default 0,
      resolved integer not null default 0,
      ${buckets.map((b) => `${b} integer not null default 0`).join(',\n      ')},
      primary key (environment_id, flow_id, hour)
    )`);
  // Retention deletes the oldest hours first (S39).
  await knex.raw('create index error_trends_by_hour on error_trends (hour)');
  await knex.raw(`
    create table error_open_counts (
      environment_id text not null references environments(id) on delete cascade,
      flow_id text not null,
      open integer not null default 0,
      retrying integer not null default 0,
      primary key (environment_id, flow_id)
    )`);
  await knex.raw(`
    create table error_group_trends (
      environment_id text not null references environments(id) on delete cascade,
      flow_id text not null,
      group_key text not null,
      day date not null,
      reported integer not null default 0,
      message text not null,
      primary key (environment_id, flow_id, group_key, day)
    )`);
  await knex.raw('create index error_group_trends_by_day on error_group_trends (day)');
  // How long a resolved error was open, as the index of its bucket; none for a recovery in its retry window.
  await knex.raw(`
    create function error_trends_bucket(reported_at timestamptz, resolved_at timestamptz, reason text) returns integer language sql immutable as $$
      select case when reason = 'retry succeeded' then null
                  else (select count(*)::int from unnest(array[300, 900, 3600, 14400, 86400, 259200, 604800]) b where extract(epoch from resolved_at - reported_at) > b) end
    $$`);
  // Changes as rows (environment_id, flow_id, hour, reported, resolved, bucket), added to both tables in key order.
  await knex.raw(`
    create function error_trends_add(deltas jsonb) returns void language sql as $$
      with d as (
        select * from jsonb_to_recordset(deltas) as d(environment_id text, flow_id text, hour timestamptz, reported integer, resolved integer, bucket integer, retrying integer)
      ), hours as (
        insert into error_trends (environment_id, flow_id, hour, reported, resolved, ${buckets.join(', ')})
        select environment_id, flow_id, hour, sum(reported), sum(resolved),
               ${buckets.map((_, i) => `coalesce(sum(resolved) filter (where bucket = ${i}), 0)`).join(', ')}
          from d group by 1, 2, 3 order by 1, 2, 3
        on conflict (environment_id, flow_id, hour) do update set
          reported = error_trends.reported + excluded.reported, resolved = error_trends.resolved + excluded.resolved,
          ${buckets.map((b) => `${b} = error_trends.${b} + excluded.${b}`).join(', ')}
      )
      insert into error_open_counts (environment_id, flow_id, open, retrying)
      select environment_id, flow_id, sum(reported) - sum(resolved), sum(retrying) from d group by 1, 2 order by 1, 2
      on conflict (environment_id, flow_id) do update set open = error_open_counts.open + excluded.open, retrying = error_open_counts.retrying + excluded.retrying
    $$`);
  await knex.raw(`
    create function error_trends_inserted() returns trigger language plpgsql as $$
    begin
      perform error_trends_add(coalesce(jsonb_agg(t), '[]'))
        from (select environment_id, flow_id, hour, sum(reported) as reported, sum(resolved) as resolved, bucket, sum(retrying) as retrying
                from (${changes('new_errors', 1)}) c group by environment_id, flow_id, hour, bucket) t;
      insert into error_group_trends (environment_id, flow_id, group_key, day, reported, message)
      select environment_id, flow_id, ${groupKey}, (reported_at at time zone 'UTC')::date, count(*), max(message)
        from new_errors group by 1, 2, 3, 4 order by 1, 2, 3, 4
      on conflict (environment_id, flow_id, group_key, day)
      do update set reported = error_group_trends.reported + excluded.reported, message = excluded.message;
      return null;
    end $$`);
  // What an update changed: what its rows count for now, less what they counted for before — no
  // join of the two (an update of 10,000 rows stays one pass over each): a row whose status and
  // times did not change cancels out, a resolution counts at its hour, one undone (none is today)
  // counts back at the hour it had.
  await knex.raw(`
    create function error_trends_updated() returns trigger language plpgsql as $$
    begin
      perform error_trends_add(coalesce(jsonb_agg(t), '[]'))
        from (select environment_id, flow_id, hour, sum(reported) as reported, sum(resolved) as resolved, bucket, sum(retrying) as retrying
                from (${changes('new_errors', 1)} union all ${changes('old_errors', -1)}) c
               group by environment_id, flow_id, hour, bucket
              having sum(reported) <> 0 or sum(resolved) <> 0 or sum(retrying) <> 0) t;
      return null;
    end $$`);
  await knex.raw(`create trigger error_trends_inserted after insert on errors referencing new table as new_errors for each statement execute function error_trends_inserted()`);
  await knex.raw(`create trigger error_trends_updated after update on errors referencing old table as old_errors new table as new_errors for each statement execute function error_trends_updated()`);
  // What is kept is counted in two statements (no change list held in memory for millions of rows).
  await knex.raw(`
    insert into error_trends (environment_id, flow_id, hour, reported, resolved, ${buckets.join(', ')})
    select environment_id, flow_id, hour, sum(reported), sum(resolved), ${buckets.map((_, i) => `coalesce(sum(resolved) filter (where bucket = ${i}), 0)`).join(', ')}
      from (${changes('errors', 1)}) t
     group by 1, 2, 3`);
  await knex.raw(`
    insert into error_group_trends (environment_id, flow_id, group_key, day, reported, message)
    select environment_id, flow_id, ${groupKey}, (reported_at at time zone 'UTC')::date, count(*), max(message) from errors group by 1, 2, 3, 4`);
  await knex.raw(`
    insert into error_open_counts (environment_id, flow_id, open, retrying)
    select environment_id, flow_id, count(*) filter (where status in ('open', 'retrying') or resolved_at is null), count(*) filter (where status = 'retrying')
      from errors group by 1, 2`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists error_trends_updated on errors');
  await knex.raw('drop trigger if exists error_trends_inserted on errors');
  await knex.raw('drop function if exists error_trends_updated()');
  await knex.raw('drop function if exists error_trends_inserted()');
  await knex.raw('drop function if exists error_trends_add(jsonb)');
  await knex.raw('drop function if exists error_trends_bucket(timestamptz, timestamptz, text)');
  await knex.raw('drop table if exists error_group_trends');
  await knex.raw('drop table if exists error_open_counts');
  await knex.raw('drop table if exists error_trends');
}
