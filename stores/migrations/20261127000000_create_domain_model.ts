import type { Knex } from 'knex';

/** The whole domain model of SPEC.md: catalog, errors, digest cycles, deliveries, connection status. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('accounts', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('users', (t) => {
    t.bigIncrements('id');
    t.text('account_id').notNullable().references('accounts.id');
    t.text('email').notNullable();
    t.text('name');
    t.text('role').notNullable().checkIn(['owner', 'admin', 'manage', 'monitor'], 'users_role_check');
    t.timestamp('removed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['account_id', 'email']);
  });

  // resource_group: environments of a legacy production/sandbox pair share one group, and with
  // it their integrations, flows and connections (S18). Elsewhere it is the environment's own id.
  await knex.schema.createTable('environments', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('accounts.id');
    t.text('name').notNullable();
    t.boolean('production').notNullable();
    t.text('resource_group').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['resource_group']);
  });

  await knex.schema.createTable('integrations', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('accounts.id');
    t.text('resource_group').notNullable();
    t.text('name').notNullable();
  });

  await knex.schema.createTable('connections', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('accounts.id');
    t.text('resource_group').notNullable();
    t.text('name').notNullable();
  });

  await knex.schema.createTable('flows', (t) => {
    t.text('id').primary();
    t.text('integration_id').notNullable().references('integrations.id');
    t.text('name').notNullable();
    t.boolean('auto_resolve').notNullable().defaultTo(false);
    // The flow's own Temporal task queue, where retry-target activities of its errors run.
    t.text('task_queue');
    t.index(['integration_id']);
  });

  await knex.schema.createTable('flow_connections', (t) => {
    t.text('flow_id').notNullable().references('flows.id').onDelete('CASCADE');
    t.text('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.primary(['flow_id', 'connection_id']);
    t.index(['connection_id']);
  });

  await knex.schema.createTable('subscriptions', (t) => {
    t.bigIncrements('id');
    t.bigInteger('user_id').notNullable().references('users.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.text('flow_id').references('flows.id').onDelete('CASCADE');
    t.text('integration_id').references('integrations.id').onDelete('CASCADE');
    t.text('connection_id').references('connections.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    alter table subscriptions add constraint subscriptions_one_target check (
      num_nonnulls(flow_id, integration_id, connection_id) = 1)`);
  for (const target of ['flow_id', 'integration_id', 'connection_id']) {
    await knex.raw(`
      create unique index subscriptions_${target}_unique
        on subscriptions (user_id, environment_id, ${target}) where ${target} is not null`);
  }

  await knex.schema.createTable('digest_cycles', (t) => {
    t.bigIncrements('id');
    t.text('environment_id').notNullable().references('environments.id');
    t.integer('number').notNullable();
    t.integer('new_count').notNullable();
    t.integer('resolved_count').notNullable();
    t.integer('delivery_count').notNullable();
    t.timestamp('fixed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.unique(['environment_id', 'number']);
  });

  await knex.schema.createTable('errors', (t) => {
    t.bigIncrements('id');
    t.text('environment_id').notNullable().references('environments.id');
    t.text('flow_id').notNullable().references('flows.id');
    // The caller's id of the error (or one derived from the batch): a repeated report is stored once.
    t.text('error_key').notNullable();
    t.text('batch_id').notNullable();
    t.text('trace_key').notNullable();
    t.text('message').notNullable();
    t.text('code');
    t.text('step');
    t.boolean('intermittent').notNullable().defaultTo(false);
    t.jsonb('record');
    t.text('status')
      .notNullable()
      .checkIn(['retrying', 'open', 'resolved', 'auto_resolved'], 'errors_status_check');
    t.text('resolution_reason');
    t.text('resolved_by');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.timestamp('reported_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resolved_at', { useTz: true });
    // The digest cycle that announced the error as new, and the one that announced its resolution.
    t.bigInteger('notified_cycle_id').references('digest_cycles.id');
    t.bigInteger('resolution_notified_cycle_id').references('digest_cycles.id');
    t.unique(['environment_id', 'flow_id', 'error_key']);
  });
  await knex.raw(`create index errors_by_trace_key on errors (flow_id, environment_id, trace_key)
    where status in ('open', 'retrying')`);
  await knex.raw(`create index errors_awaiting_digest on errors (environment_id)
    where notified_cycle_id is null and status = 'open'`);
  await knex.raw(`create index errors_awaiting_resolution_digest on errors (environment_id)
    where notified_cycle_id is not null and resolution_notified_cycle_id is null
      and status in ('resolved', 'auto_resolved')`);
  await knex.raw(`create index errors_by_cycle on errors (notified_cycle_id)`);
  await knex.raw(`create index errors_by_resolution_cycle on errors (resolution_notified_cycle_id)`);
  await knex.raw(`create index errors_open_by_flow on errors (environment_id, flow_id) where status = 'open'`);

  await knex.schema.createTable('connection_status', (t) => {
    t.text('connection_id').primary().references('connections.id').onDelete('CASCADE');
    t.text('status').notNullable().checkIn(['online', 'offline'], 'connection_status_check');
    t.text('reason');
    t.timestamp('since', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('connection_events', (t) => {
    t.bigIncrements('id');
    t.text('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    // Position of the change in the connection's history, from its workflow: the idempotency key.
    t.integer('sequence').notNullable();
    t.text('status').notNullable().checkIn(['online', 'offline'], 'connection_events_status_check');
    t.text('reason');
    t.timestamp('changed_at', { useTz: true }).notNullable();
    t.unique(['connection_id', 'sequence']);
  });

  await knex.schema.createTable('email_deliveries', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable().checkIn(['digest', 'connection'], 'email_deliveries_kind_check');
    t.bigInteger('cycle_id').references('digest_cycles.id');
    t.bigInteger('connection_event_id').references('connection_events.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.bigInteger('user_id').notNullable().references('users.id');
    t.text('recipient').notNullable();
    t.text('status').notNullable().defaultTo('pending').checkIn(['pending', 'sent', 'failed'], 'email_deliveries_status_check');
    t.integer('new_count').notNullable().defaultTo(0);
    t.integer('resolved_count').notNullable().defaultTo(0);
    t.integer('open_count').notNullable().defaultTo(0);
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.text('message_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
  });
  await knex.raw(`create unique index email_deliveries_cycle_user on email_deliveries (cycle_id, user_id)
    where cycle_id is not null`);
  await knex.raw(`create unique index email_deliveries_event_user
    on email_deliveries (connection_event_id, environment_id, user_id) where connection_event_id is not null`);
  await knex.raw(`create index email_deliveries_pending on email_deliveries (cycle_id, id) where status = 'pending'`);

  // The flows a digest delivery spoke of: a resolution later goes to the users who were told (S9).
  await knex.schema.createTable('delivery_flows', (t) => {
    t.bigInteger('delivery_id').notNullable().references('email_deliveries.id').onDelete('CASCADE');
    t.text('flow_id').notNullable().references('flows.id').onDelete('CASCADE');
    t.primary(['delivery_id', 'flow_id']);
    t.index(['flow_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'delivery_flows',
    'email_deliveries',
    'connection_events',
    'connection_status',
    'errors',
    'digest_cycles',
    'subscriptions',
    'flow_connections',
    'flows',
    'connections',
    'integrations',
    'environments',
    'users',
    'accounts',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
