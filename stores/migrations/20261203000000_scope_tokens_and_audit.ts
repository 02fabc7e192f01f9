import type { Knex } from 'knex';

/**
 * S40: a token carries the scopes chosen when it was made (tokens made before keep all three of
 * their account's), or is an installation's, over every account; every change the platform makes
 * through the API is recorded with who made it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table api_tokens add column scopes text[] not null default '{report,read,manage}'`);
  await knex.raw(`alter table api_tokens alter column account_id drop not null`);
  await knex.raw(`alter table api_tokens add constraint api_tokens_account_or_installation check (account_id is not null or 'installation' = any(scopes))`);
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.text('account_id').notNullable();
    // Who: "token 12 (billing platform)", "operator (herald catalog apply)", "ops@acme.example".
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('kind').notNullable();
    t.text('entity').notNullable();
    t.jsonb('detail');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['account_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
  await knex.raw('alter table api_tokens drop constraint api_tokens_account_or_installation');
  await knex.raw('alter table api_tokens alter column account_id set not null');
  await knex.raw('alter table api_tokens drop column scopes');
}
