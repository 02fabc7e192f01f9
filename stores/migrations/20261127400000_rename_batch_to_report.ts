import type { Knex } from 'knex';

/** A report's id is `reportId` from the client to the table, as for success reports. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table errors rename column batch_id to report_id');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table errors rename column report_id to batch_id');
}
