import type { Knex } from 'knex';

/**
 * Channels (S43): an account's Slack incoming webhooks, Teams workflow webhooks and signed
 * webhooks. A person's subscriptions in an environment may also (or only) go to one of the
 * account's channels (`subscription_targets`; no row: email only). What Herald posts to a
 * channel is a message keyed once (`key`: a digest's cycle and channel, a connection change and
 * channel, a reminder's day and channel, an assignment and channel), sent once, retried while the
 * channel answers for now (429, 5xx), failed for good on any other refusal. A webhook message's id is its row's: a consumer sees the same id on a retry.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('channels', (t) => {
    t.bigIncrements('id');
    t.text('account_id').notNullable().references('accounts.id');
    t.text('name').notNullable();
    t.text('kind').notNullable();
    t.text('url').notNullable();
    // A signed webhook's secret (`whsec_…`), shown once when made.
    t.text('secret');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('removed_at', { useTz: true });
  });
  await knex.raw(`alter table channels add constraint channels_kind check (kind in ('slack', 'teams', 'webhook'))`);
  await knex.raw(`alter table channels add constraint channels_webhook_secret check ((kind = 'webhook') = (secret is not null))`);
  await knex.raw('create unique index channels_account_name on channels (account_id, name) where removed_at is null');

  await knex.schema.createTable('subscription_targets', (t) => {
    t.bigInteger('user_id').notNullable().references('users.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.boolean('email').notNullable().defaultTo(true);
    t.bigInteger('channel_id').references('channels.id');
    // Chosen by the person on the settings page: the catalog and the API then leave it as it is.
    t.boolean('chosen_on_page').notNullable().defaultTo(false);
    t.primary(['environment_id', 'user_id']);
  });

  await knex.schema.createTable('channel_messages', (t) => {
    t.bigIncrements('id');
    t.bigInteger('channel_id').notNullable().references('channels.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.text('kind').notNullable();
    t.text('key').notNullable().unique();
    t.bigInteger('cycle_id').references('digest_cycles.id');
    t.bigInteger('connection_event_id').references('connection_events.id');
    t.bigInteger('assignment_event_id').references('assignment_events.id');
    // A reminder's time, by the digest's clock: which errors were open past the threshold then.
    t.timestamp('planned_at', { useTz: true });
    t.specificType('flow_ids', 'text[]').notNullable().defaultTo('{}');
    t.integer('new_count').notNullable().defaultTo(0);
    t.integer('resolved_count').notNullable().defaultTo(0);
    t.integer('open_count').notNullable().defaultTo(0);
    // The event as first composed: a retry posts the same content.
    t.jsonb('event');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    // When the next attempt is due; an attempt under way first moves it past its own end, so
    // that a crashed attempt leaves the message deferred, not lost.
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
  await knex.raw('alter table digest_cycles add column channel_message_count integer not null default 0');
  await knex.raw(`create index channel_messages_deferred on channel_messages (environment_id, retry_at) where status = 'pending' and retry_at is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table digest_cycles drop column if exists channel_message_count');
  await knex.schema.dropTable('channel_messages');
  await knex.schema.dropTable('subscription_targets');
  await knex.schema.dropTable('channels');
}
