import type { Knex } from 'knex';

/**
 * Assignment (S32): an error's assignee, and each assignment action, whose email goes to the
 * assignee at once, once (a delivery of kind `assignment`, keyed by the action).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table errors add column assignee_id bigint references users(id), add column assigned_at timestamptz');
  await knex.schema.createTable('assignment_events', (t) => {
    t.bigIncrements('id');
    // The caller's id of the action: a repeated request is one action, one email.
    t.text('request_id').notNullable().unique();
    t.text('environment_id').notNullable().references('environments.id');
    t.bigInteger('assignee_id').notNullable().references('users.id');
    t.text('assigned_by').notNullable();
    t.specificType('error_ids', 'bigint[]').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('alter table email_deliveries drop constraint email_deliveries_kind_check');
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_kind_check check (kind in ('digest', 'connection', 'assignment'))`);
  await knex.raw('alter table email_deliveries add column assignment_event_id bigint references assignment_events(id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex('email_deliveries').where({ kind: 'assignment' }).delete();
  await knex.raw('alter table email_deliveries drop column assignment_event_id');
  await knex.raw('alter table email_deliveries drop constraint email_deliveries_kind_check');
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_kind_check check (kind in ('digest', 'connection'))`);
  await knex.schema.dropTable('assignment_events');
  await knex.raw('alter table errors drop column assigned_at, drop column assignee_id');
}
