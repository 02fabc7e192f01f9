import type { Knex } from 'knex';

/**
 * Each person's digest rhythm per environment (S41): every cycle, hourly or daily at a time of
 * their time zone, with optional quiet hours. A person without a row gets every cycle. The row
 * also marks the last cycle at which their digest was due (a cycle id, kept as a number: retention
 * may delete the cycle): their next digest tells what is new and newly resolved since. A digest
 * delivery of such a person records where its range began (`since_cycle_id`); digests of
 * every-cycle persons without a row leave it null (their range is their cycle).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('digest_rhythms', (t) => {
    t.bigInteger('user_id').notNullable().references('users.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.text('every').notNullable();
    t.text('at');
    t.text('time_zone').notNullable();
    t.text('quiet_from');
    t.text('quiet_to');
    t.boolean('quiet_connection_emails').notNullable().defaultTo(true);
    t.bigInteger('last_due_cycle_id').notNullable();
    t.timestamp('last_due_at', { useTz: true }).notNullable();
    t.timestamp('chosen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Chosen by a person on the settings page: the catalog and the API then leave it as it is.
    t.boolean('chosen_on_page').notNullable().defaultTo(false);
    t.primary(['environment_id', 'user_id']);
  });
  await knex.raw(`alter table digest_rhythms add constraint digest_rhythms_every check (every in ('cycle', 'hour', 'day'))`);
  await knex.raw('alter table email_deliveries add column since_cycle_id bigint');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table email_deliveries drop column if exists since_cycle_id');
  await knex.schema.dropTable('digest_rhythms');
}
