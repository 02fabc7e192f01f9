import type { Knex } from 'knex';

/**
 * Sign-in without a password (S22): single-use links (kept as hashes, valid 15 minutes), and the
 * server-side sessions they open, so that signing out ends a session everywhere at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sign_in_links', (t) => {
    t.bigIncrements('id');
    t.bigInteger('user_id').notNullable().references('users.id');
    t.text('token_hash').notNullable().unique();
    // Where the person was going when asked to sign in: a path of this server.
    t.text('next_path').notNullable().defaultTo('/');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
  });
  await knex.schema.createTable('sessions', (t) => {
    t.text('id').primary();
    t.jsonb('data').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
  await knex.raw('create index sessions_by_expiry on sessions (expires_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sessions');
  await knex.schema.dropTable('sign_in_links');
}
