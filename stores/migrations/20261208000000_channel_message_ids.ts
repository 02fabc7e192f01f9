import type { Knex } from 'knex';

/**
 * Each channel message's id as receivers see it (S49): a random UUID of its own, kept with the
 * row, so it is the same on every attempt, and no other installation, nor this one after a
 * restore from a backup (whose serial numbers start again), ever uses it for another message.
 * Messages planned before it get theirs now.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table channel_messages add column public_id uuid not null default gen_random_uuid()');
  await knex.raw('create unique index channel_messages_public_id on channel_messages (public_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table channel_messages drop column if exists public_id');
}
