import type { Knex } from 'knex';

/**
 * The weekly review (S47): each person's choice of it per environment (a person without a row has
 * the default: on for owners and admins, Mondays at 08:00 in their digest's time zone), and
 * `weekly` as a kind of email. Its day is ISO's, 1 (Monday) to 7 (Sunday).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('weekly_reviews', (t) => {
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('environment_id').notNullable().references('environments.id').onDelete('CASCADE');
    t.boolean('on').notNullable();
    t.smallint('day').notNullable();
    t.text('at').notNullable();
    t.timestamp('chosen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Chosen by the person on the settings page (or by unsubscribing): the catalog and the API leave it as it is.
    t.boolean('chosen_on_page').notNullable().defaultTo(false);
    t.primary(['environment_id', 'user_id']);
  });
  await knex.raw('alter table weekly_reviews add constraint weekly_reviews_day check (day between 1 and 7)');
  // Checked without holding writers back: the rows there are already of the kinds it names.
  await knex.raw('alter table email_deliveries drop constraint email_deliveries_kind_check');
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_kind_check check (kind in ('digest', 'connection', 'assignment', 'reminder', 'weekly')) not valid`);
  await knex.raw('alter table email_deliveries validate constraint email_deliveries_kind_check');
}

export async function down(knex: Knex): Promise<void> {
  await knex('email_deliveries').where({ kind: 'weekly' }).delete();
  await knex.raw('alter table email_deliveries drop constraint email_deliveries_kind_check');
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_kind_check check (kind in ('digest', 'connection', 'assignment', 'reminder'))`);
  await knex.schema.dropTable('weekly_reviews');
}
