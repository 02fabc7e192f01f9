import type { Knex } from 'knex';

/**
 * The id receivers see of each channel message and email (S49): a random UUID kept with its row,
 * the same on every attempt, and never another's, from any installation, even after a restore
 * from a backup (whose serial numbers start again). Only rows planned from now on get one: a row
 * planned before keeps the id its earlier attempts carried (its serial number), so a receiver
 * still recognises its retry; and no table is rewritten.
 */
export async function up(knex: Knex): Promise<void> {
  for (const table of ['channel_messages', 'email_deliveries']) {
    await knex.raw(`alter table ${table} add column public_id uuid`);
    await knex.raw(`alter table ${table} alter column public_id set default gen_random_uuid()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['channel_messages', 'email_deliveries']) await knex.raw(`alter table ${table} drop column if exists public_id`);
}
