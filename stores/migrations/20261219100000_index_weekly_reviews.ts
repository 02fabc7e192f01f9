import type { Knex } from 'knex';

/**
 * A person's weekly review (S47) is planned once for its time: two looks at the same moment (a
 * retried activity beside the attempt it replaces) plan one email. Built concurrently, outside a
 * transaction, so sending carries on while a large table is indexed.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create unique index concurrently if not exists email_deliveries_weekly on email_deliveries (environment_id, user_id, planned_at) where kind = 'weekly'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index concurrently if exists email_deliveries_weekly');
}
