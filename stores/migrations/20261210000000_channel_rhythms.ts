import type { Knex } from 'knex';

/**
 * A channel's own rhythm (S49): its digests every cycle (no row), hourly or daily at a time of a
 * time zone, with optional quiet hours, as a person's (S41). For each environment it hears of,
 * the last cycle at which its digest was due (a cycle id, kept as a number: retention may delete
 * the cycle): its next digest tells what is new and newly resolved since. A channel digest
 * message records where its range began (`since_cycle_id`; null: its cycle alone).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('channel_rhythms', (t) => {
    t.bigInteger('channel_id').primary().references('channels.id');
    t.text('every').notNullable();
    t.text('at');
    t.text('time_zone').notNullable();
    t.text('quiet_from');
    t.text('quiet_to');
    t.timestamp('chosen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table channel_rhythms add constraint channel_rhythms_every check (every in ('cycle', 'hour', 'day'))`);
  await knex.schema.createTable('channel_digest_progress', (t) => {
    t.bigInteger('channel_id').notNullable().references('channels.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.bigInteger('last_due_cycle_id').notNullable();
    t.timestamp('last_due_at', { useTz: true }).notNullable();
    t.primary(['channel_id', 'environment_id']);
  });
  await knex.raw('alter table channel_messages add column since_cycle_id bigint');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table channel_messages drop column if exists since_cycle_id');
  await knex.schema.dropTable('channel_digest_progress');
  await knex.schema.dropTable('channel_rhythms');
}
