import type { Knex } from 'knex';

/**
 * S40: the platform removes environments, integrations, connections and flows. A removed one
 * takes no more reports and no subscriptions; what it holds (errors, changes, emails) stays, and
 * stays readable in the pages. Put again, it is back.
 */
export async function up(knex: Knex): Promise<void> {
  for (const table of ['environments', 'integrations', 'connections', 'flows']) {
    await knex.schema.alterTable(table, (t) => t.timestamp('removed_at', { useTz: true }));
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['environments', 'integrations', 'connections', 'flows']) {
    await knex.schema.alterTable(table, (t) => t.dropColumn('removed_at'));
  }
}
