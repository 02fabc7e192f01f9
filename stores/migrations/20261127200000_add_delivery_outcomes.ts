import type { Knex } from 'knex';

/**
 * Per-recipient delivery outcomes (S34, S38):
 * - `retry_at` and `deferred_since`: a recipient the SMTP server refused for now (4xx) waits for
 *   its next attempt without holding the cycle back; after the retry limit it is `failed`;
 * - status `cancelled`: the user left the account or unsubscribed after the email was planned.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table email_deliveries drop constraint email_deliveries_status_check`);
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_status_check
    check (status in ('pending', 'sent', 'failed', 'cancelled'))`);
  await knex.raw(`alter table email_deliveries add column retry_at timestamptz, add column deferred_since timestamptz`);
  await knex.raw(`drop index email_deliveries_pending`);
  await knex.raw(`create index email_deliveries_pending on email_deliveries (cycle_id, id)
    where status = 'pending' and retry_at is null`);
  await knex.raw(`create index email_deliveries_deferred on email_deliveries (environment_id, retry_at)
    where status = 'pending' and retry_at is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index email_deliveries_deferred`);
  await knex.raw(`drop index email_deliveries_pending`);
  await knex.raw(`create index email_deliveries_pending on email_deliveries (cycle_id, id) where status = 'pending'`);
  await knex.raw(`update email_deliveries set status = 'failed' where status = 'cancelled'`);
  await knex.raw(`alter table email_deliveries drop column retry_at, drop column deferred_since`);
  await knex.raw(`alter table email_deliveries drop constraint email_deliveries_status_check`);
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_status_check
    check (status in ('pending', 'sent', 'failed'))`);
}
