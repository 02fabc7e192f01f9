import type { Knex } from 'knex';

/**
 * One row: this installation's random id. Message-IDs carry it, so that two installations (a
 * staging and a production Herald, say) never send two emails under one Message-ID.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create table installation (
    id uuid primary key default gen_random_uuid(),
    created_at timestamptz not null default now(),
    only_one boolean not null default true unique check (only_one))`);
  await knex.raw('insert into installation default values');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('installation');
}
