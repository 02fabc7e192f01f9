import type { Knex } from 'knex';

/**
 * Reminders (S31): each environment's threshold (errors open longer than it are reminded of), and
 * reminder emails as deliveries of kind `reminder`, planned at the digest workflow's time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table environments add column remind_after_ms bigint not null default ${3 * 24 * 60 * 60_000}`);
  await knex.raw('alter table email_deliveries drop constraint email_deliveries_kind_check');
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_kind_check check (kind in ('digest', 'connection', 'assignment', 'reminder'))`);
  // When the reminder was planned, by the digest workflow's clock: "at most once a day" counts from it.
  await knex.raw('alter table email_deliveries add column planned_at timestamptz');
  await knex.raw(`create index email_deliveries_reminders on email_deliveries (user_id, environment_id, planned_at) where kind = 'reminder'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex('email_deliveries').where({ kind: 'reminder' }).delete();
  await knex.raw('alter table email_deliveries drop column planned_at');
  await knex.raw('alter table email_deliveries drop constraint email_deliveries_kind_check');
  await knex.raw(`alter table email_deliveries add constraint email_deliveries_kind_check check (kind in ('digest', 'connection', 'assignment'))`);
  await knex.raw('alter table environments drop column remind_after_ms');
}
