import type { Knex } from 'knex';

/**
 * The errors pages read an environment's errors (or a flow's) newest first, a page at a time
 * (keyset: `id < last`): these indexes keep each page a short index scan at millions of rows.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index errors_page_by_environment on errors (environment_id, id)');
  await knex.raw('create index errors_page_by_flow on errors (environment_id, flow_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index errors_page_by_flow');
  await knex.raw('drop index errors_page_by_environment');
}
