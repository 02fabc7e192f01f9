import type { Knex } from 'knex';

/**
 * Cheaper digest cycles, same content:
 * - the flows a digest delivery spoke of (S9) become an array on the delivery, written by the
 *   statement that creates it, instead of one `delivery_flows` row per (delivery, flow);
 * - the cycle indexes of `errors` leave out errors no digest has announced yet, so storing an
 *   error and fixing a cycle maintain fewer index entries.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table email_deliveries add column flow_ids text[] not null default '{}'`);
  await knex.raw(`
    update email_deliveries d
       set flow_ids = (select array_agg(df.flow_id order by df.flow_id) from delivery_flows df where df.delivery_id = d.id)
     where exists (select 1 from delivery_flows df where df.delivery_id = d.id)`);
  await knex.schema.dropTable('delivery_flows');

  await knex.raw(`drop index errors_by_cycle`);
  await knex.raw(`create index errors_by_cycle on errors (notified_cycle_id) where notified_cycle_id is not null`);
  await knex.raw(`drop index errors_by_resolution_cycle`);
  await knex.raw(`create index errors_by_resolution_cycle on errors (resolution_notified_cycle_id)
    where resolution_notified_cycle_id is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index errors_by_resolution_cycle`);
  await knex.raw(`create index errors_by_resolution_cycle on errors (resolution_notified_cycle_id)`);
  await knex.raw(`drop index errors_by_cycle`);
  await knex.raw(`create index errors_by_cycle on errors (notified_cycle_id)`);

  await knex.schema.createTable('delivery_flows', (t) => {
    t.bigInteger('delivery_id').notNullable().references('email_deliveries.id').onDelete('CASCADE');
    t.text('flow_id').notNullable().references('flows.id').onDelete('CASCADE');
    t.primary(['delivery_id', 'flow_id']);
    t.index(['flow_id']);
  });
  await knex.raw(`
    insert into delivery_flows (delivery_id, flow_id)
    select d.id, f.flow_id from email_deliveries d cross join lateral unnest(d.flow_ids) as f(flow_id)
      join flows on flows.id = f.flow_id`);
  await knex.raw(`alter table email_deliveries drop column flow_ids`);
}
