import type { Knex } from 'knex';

/**
 * Grouped errors (S42): each error's fingerprint, computed when it is stored (stores/fingerprint.ts).
 * Errors stored before have none: they group by their exact message. The index serves a group's
 * page and resolving a whole group; built concurrently, so reports carry on meanwhile.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table errors add column if not exists fingerprint text');
  await knex.raw('create index concurrently if not exists errors_flow_fingerprint on errors (flow_id, fingerprint, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index concurrently if exists errors_flow_fingerprint');
  await knex.raw('alter table errors drop column if exists fingerprint');
}
