import type { Knex } from 'knex';

/**
 * A channel's kind and whether it has a secret are the transport's to say (contracts/channel.ts
 * lists them): the database no longer lists kinds, so that a new transport needs no migration.
 * Down puts the two checks back (refused while a channel of another kind exists).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table channels drop constraint channels_kind');
  await knex.raw('alter table channels drop constraint channels_webhook_secret');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table channels add constraint channels_kind check (kind in ('slack', 'teams', 'webhook'))`);
  await knex.raw(`alter table channels add constraint channels_webhook_secret check ((kind = 'webhook') = (secret is not null))`);
}
