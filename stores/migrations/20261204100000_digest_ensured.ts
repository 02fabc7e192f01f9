import type { Knex } from 'knex';

/**
 * Cheap starts (#25): when each environment's digest workflow was last made sure of. A worker
 * start ensures only the environments never made sure of (new ones whose start was missed);
 * `herald digest ensure` makes sure of them all. Existing environments had theirs ensured by
 * every worker start so far: they count as ensured now.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table environments add column digest_ensured_at timestamptz');
  await knex.raw('update environments set digest_ensured_at = now() where removed_at is null');
  await knex.raw('create index environments_digest_unensured on environments (id) where digest_ensured_at is null and removed_at is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table environments drop column digest_ensured_at');
}
