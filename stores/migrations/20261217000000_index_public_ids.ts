import type { Knex } from 'knex';

/**
 * Acting from an email or a channel's message (S45): a link names its email or message by public
 * id, so following one finds its row by an index, not by reading the whole table. Built
 * concurrently (outside a transaction), so reports and digests carry on while a large table is indexed.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index concurrently if not exists email_deliveries_public_id on email_deliveries (public_id)');
  await knex.raw('create index concurrently if not exists channel_messages_public_id on channel_messages (public_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index concurrently if exists channel_messages_public_id');
  await knex.raw('drop index concurrently if exists email_deliveries_public_id');
}
