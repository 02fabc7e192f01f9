import type { Knex } from 'knex';

/**
 * Acting from an email (S45): each action a person took by a link of an email they received —
 * resolve, snooze for a day, assign to me, on an error or on the group of one — once per email,
 * person, action and target (a second use says it is done already); and, on what it changed, that
 * it came from an email (`errors.resolved_via`, `snoozes.via`, `assignment_events.via`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('email_actions', (t) => {
    t.bigIncrements('id');
    // The email (its delivery's public id) and its recipient.
    t.uuid('email_id').notNullable();
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('action').notNullable();
    // The error, or the error whose group (its flow and fingerprint) the action took.
    t.text('target').notNullable();
    t.bigInteger('error_id').notNullable();
    t.integer('errors').notNullable();
    t.timestamp('done_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['email_id', 'user_id', 'action', 'target', 'error_id']);
  });
  await knex.raw(`alter table email_actions add constraint email_actions_action check (action in ('resolve', 'snooze', 'assign'))`);
  await knex.raw(`alter table email_actions add constraint email_actions_target check (target in ('error', 'group'))`);
  await knex.raw('alter table errors add column resolved_via text');
  await knex.raw('alter table snoozes add column via text');
  await knex.raw('alter table assignment_events add column via text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table assignment_events drop column via');
  await knex.raw('alter table snoozes drop column via');
  await knex.raw('alter table errors drop column resolved_via');
  await knex.schema.dropTable('email_actions');
}
