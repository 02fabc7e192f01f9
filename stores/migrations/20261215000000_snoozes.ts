import type { Knex } from 'knex';

/**
 * Snoozes (S46): an error, or a group of a flow's errors (S42), left out of digests' new lists and
 * of reminders until a time, or until it happens a number of times more. Its errors name it while
 * it holds (`errors.snooze_id`); when it ends they are told as new once more. Digest emails count
 * the snoozed among the open (`email_deliveries.snoozed_count`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('snoozes', (t) => {
    t.bigIncrements('id');
    t.text('environment_id').notNullable().references('environments.id').onDelete('CASCADE');
    t.text('flow_id').notNullable().references('flows.id').onDelete('CASCADE');
    // One error (and the errors reported again for its trace key), or a group of the flow.
    t.text('trace_key');
    t.text('group_key');
    t.timestamp('until', { useTz: true });
    t.integer('events_left');
    t.text('snoozed_by').notNullable();
    t.timestamp('snoozed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('ended_at', { useTz: true });
    t.text('end_reason');
  });
  await knex.raw('alter table snoozes add constraint snoozes_target check ((trace_key is null) <> (group_key is null))');
  await knex.raw('alter table snoozes add constraint snoozes_end check ((until is null) <> (events_left is null))');
  await knex.raw('create index snoozes_holding on snoozes (environment_id, flow_id) where ended_at is null');
  await knex.raw('alter table errors add column snooze_id bigint references snoozes (id) on delete set null');
  await knex.raw('create index errors_by_snooze on errors (snooze_id) where snooze_id is not null');
  await knex.raw('alter table email_deliveries add column snoozed_count integer not null default 0');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table email_deliveries drop column snoozed_count');
  await knex.raw('alter table errors drop column snooze_id');
  await knex.schema.dropTable('snoozes');
}
