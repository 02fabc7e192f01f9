import type { Knex } from 'knex';

/**
 * Fenced sending (S44): one row per sending workflow (its id), naming the attempt that may send
 * its emails now. Each sending attempt takes the fence when it starts (a new generation), and
 * checks it before each email, so an attempt whose worker was paused or starved past its heartbeat
 * timeout cannot send beside the attempt that replaced it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('send_fences', (t) => {
    t.text('scope').primary();
    t.bigInteger('generation').notNullable();
    t.text('owner').notNullable();
    t.timestamp('taken_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('send_fences');
}
