import type { Knex } from 'knex';

/**
 * "My emails" (S27): the subject each email was sent with, and, per digest cycle, the users who
 * followed flows of the environment but had nothing new or resolved (no email, and why).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table email_deliveries add column subject text');
  await knex.schema.createTable('digest_skips', (t) => {
    t.bigInteger('cycle_id').notNullable().references('digest_cycles.id');
    t.bigInteger('user_id').notNullable().references('users.id');
    t.primary(['cycle_id', 'user_id']);
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('digest_skips');
  await knex.raw('alter table email_deliveries drop column subject');
}
