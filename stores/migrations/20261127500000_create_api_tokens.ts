import type { Knex } from 'knex';

/** Account API tokens for the HTTP API (S29): only a hash of each is kept; revoked ones stay listed. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_tokens', (t) => {
    t.bigIncrements('id');
    t.text('account_id').notNullable().references('accounts.id');
    t.text('name').notNullable();
    // SHA-256 of the token, hex: the token itself is shown once, when created.
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
}
