import type { Knex } from 'knex';

/**
 * Retention (S39): indexes that let each purge batch find the oldest finished rows without
 * reading whole tables. Built concurrently (outside a transaction), so reports and digests carry
 * on while a large table is indexed.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index concurrently if not exists errors_resolved_at on errors (resolved_at) where status in ('resolved', 'auto_resolved')`);
  await knex.raw(`create index concurrently if not exists email_deliveries_finished_at on email_deliveries (created_at) where status <> 'pending'`);
  await knex.raw(`create index concurrently if not exists digest_cycles_completed_at on digest_cycles (completed_at)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index concurrently if exists digest_cycles_completed_at');
  await knex.raw('drop index concurrently if exists email_deliveries_finished_at');
  await knex.raw('drop index concurrently if exists errors_resolved_at');
}
