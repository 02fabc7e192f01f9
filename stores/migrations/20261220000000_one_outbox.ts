import type { Knex } from 'knex';

/**
 * One outbox (S49): every notification, whatever its kind and whoever gets it, is one row of
 * `notifications` — to a person (`user_id`, `recipient`: their email) or to a channel
 * (`channel_id`), never both. Emails keep their rows and ids (their links, Message-IDs and "My
 * emails" pages go on working); channel messages move in with new ids, each keeping the id
 * receivers know it by: its `public_id`, or, for one planned before those, its former serial
 * number (`former_id`, a webhook's `msg_<n>`), so a retry of it is recognised as one.
 *
 * `email_deliveries` and `channel_messages` stay for one release as views of the outbox, for a
 * worker of the release before that still runs during a rolling deploy; the next release drops them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table email_deliveries rename to notifications');
  await knex.raw('alter sequence email_deliveries_id_seq rename to notifications_id_seq');
  for (const index of ['pkey', 'cycle_user', 'event_user', 'pending', 'deferred', 'reminders', 'finished_at', 'public_id', 'weekly']) {
    await knex.raw(`alter index if exists email_deliveries_${index} rename to notifications_${index}`);
  }
  await knex.raw(`alter table notifications
    alter column user_id drop not null,
    alter column recipient drop not null,
    add column channel_id bigint references channels(id),
    add column key text,
    add column event jsonb,
    add column last_status integer,
    add column former_id bigint`);
  await knex.raw('create unique index notifications_key on notifications (key)');
  await knex.raw('create index notifications_channel on notifications (channel_id, id) where channel_id is not null');
  await knex.raw('create index notifications_channel_cycle on notifications (cycle_id) where channel_id is not null');
  // What an environment planned besides its digests, by time: a cycle's tally of every kind.
  await knex.raw('create index notifications_planned on notifications (environment_id, created_at) where cycle_id is null');
  await knex.raw(`insert into notifications (channel_id, environment_id, kind, key, cycle_id, since_cycle_id, connection_event_id, assignment_event_id,
                                            planned_at, flow_ids, new_count, resolved_count, open_count, event, status, attempts, retry_at,
                                            deferred_since, last_status, last_error, created_at, sent_at, public_id, former_id)
    select channel_id, environment_id, kind, key, cycle_id, since_cycle_id, connection_event_id, assignment_event_id,
           planned_at, flow_ids, new_count, resolved_count, open_count, event, status, attempts, retry_at,
           deferred_since, last_status, last_error, created_at, sent_at, public_id, case when public_id is null then id end
      from channel_messages order by id`);
  await knex.raw('drop table channel_messages');
  // A notification goes to a person or to a channel; a person's email has an address.
  await knex.raw(`alter table notifications add constraint notifications_recipient
    check (case when channel_id is null then user_id is not null and recipient is not null else user_id is null end)`);
  await knex.raw(`create view email_deliveries as
    select id, kind, cycle_id, connection_event_id, environment_id, user_id, recipient, status, new_count, resolved_count, open_count,
           attempts, last_error, message_id, created_at, sent_at, flow_ids, retry_at, deferred_since, subject, assignment_event_id,
           planned_at, since_cycle_id, public_id, held_until, snoozed_count
      from notifications where channel_id is null
    with local check option`);
  await knex.raw(`create view channel_messages as
    select id, channel_id, environment_id, kind, key, cycle_id, connection_event_id, assignment_event_id, planned_at, flow_ids,
           new_count, resolved_count, open_count, event, status, attempts, retry_at, deferred_since, last_status, last_error,
           created_at, sent_at, public_id, since_cycle_id
      from notifications where channel_id is not null
    with local check option`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop view if exists channel_messages');
  await knex.raw('drop view if exists email_deliveries');
  await knex.schema.createTable('channel_messages', (t) => {
    t.bigIncrements('id');
    t.bigInteger('channel_id').notNullable().references('channels.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.text('kind').notNullable();
    t.text('key').notNullable().unique();
    t.bigInteger('cycle_id').references('digest_cycles.id');
    t.bigInteger('connection_event_id').references('connection_events.id');
    t.bigInteger('assignment_event_id').references('assignment_events.id');
    t.timestamp('planned_at', { useTz: true });
    t.specificType('flow_ids', 'text[]').notNullable().defaultTo('{}');
    t.integer('new_count').notNullable().defaultTo(0);
    t.integer('resolved_count').notNullable().defaultTo(0);
    t.integer('open_count').notNullable().defaultTo(0);
    t.jsonb('event');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('retry_at', { useTz: true });
    t.timestamp('deferred_since', { useTz: true });
    t.integer('last_status');
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.index(['cycle_id']);
    t.index(['channel_id', 'id']);
  });
  await knex.raw(`alter table channel_messages add constraint channel_messages_kind check (kind in ('digest', 'connection', 'reminder', 'assignment'))`);
  await knex.raw(`alter table channel_messages add constraint channel_messages_status check (status in ('pending', 'sent', 'failed', 'cancelled'))`);
  await knex.raw(`create index channel_messages_deferred on channel_messages (environment_id, retry_at) where status = 'pending' and retry_at is not null`);
  await knex.raw('alter table channel_messages add column public_id uuid default gen_random_uuid(), add column since_cycle_id bigint');
  await knex.raw('create index channel_messages_public_id on channel_messages (public_id)');
  // Channel messages go back under their outbox ids (a former id could be another's by now).
  await knex.raw(`insert into channel_messages (id, channel_id, environment_id, kind, key, cycle_id, connection_event_id, assignment_event_id, planned_at,
                                               flow_ids, new_count, resolved_count, open_count, event, status, attempts, retry_at, deferred_since,
                                               last_status, last_error, created_at, sent_at, public_id, since_cycle_id)
    select id, channel_id, environment_id, kind, key, cycle_id, connection_event_id, assignment_event_id, planned_at,
           flow_ids, new_count, resolved_count, open_count, event, status, attempts, retry_at, deferred_since,
           last_status, last_error, created_at, sent_at, public_id, since_cycle_id
      from notifications where channel_id is not null order by id`);
  await knex.raw(`select setval('channel_messages_id_seq', greatest((select max(id) from channel_messages), 1))`);
  await knex.raw('delete from notifications where channel_id is not null');
  await knex.raw('alter table notifications drop constraint notifications_recipient');
  await knex.raw('drop index notifications_key, notifications_channel, notifications_channel_cycle, notifications_planned');
  await knex.raw(`alter table notifications
    drop column channel_id, drop column key, drop column event, drop column last_status, drop column former_id,
    alter column user_id set not null, alter column recipient set not null`);
  for (const index of ['pkey', 'cycle_user', 'event_user', 'pending', 'deferred', 'reminders', 'finished_at', 'public_id', 'weekly']) {
    await knex.raw(`alter index if exists notifications_${index} rename to email_deliveries_${index}`);
  }
  await knex.raw('alter sequence notifications_id_seq rename to email_deliveries_id_seq');
  await knex.raw('alter table notifications rename to email_deliveries');
}
