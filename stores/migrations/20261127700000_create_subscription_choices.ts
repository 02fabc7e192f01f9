import type { Knex } from 'knex';

/**
 * Which users chose their subscriptions of an environment on the settings page (S24), and who
 * saved them (the user, or an owner or admin of the account). A catalog leaves those alone.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('subscription_choices', (t) => {
    t.bigInteger('user_id').notNullable().references('users.id');
    t.text('environment_id').notNullable().references('environments.id');
    t.bigInteger('chosen_by').notNullable().references('users.id');
    t.timestamp('chosen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'environment_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('subscription_choices');
}
