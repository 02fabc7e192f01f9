import type { Knex } from 'knex';

/**
 * Emails held by a person's quiet hours (S49): `held_until` is when their quiet hours end, and the
 * email waits, unattempted, until then (its `retry_at` too, so the retry round that sends deferred
 * emails sends it). An email held because of a connection's change is dropped at that time if
 * the change no longer stands.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table email_deliveries add column held_until timestamptz');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table email_deliveries drop column if exists held_until');
}
