import type { Knex } from 'knex';

/**
 * A cycle's fix that does not grow with its errors (#40): the transaction that opens or resolves
 * an error stamps it with the cycle that will tell it — the environment's `news_cycle_id`, an id
 * taken ahead from the cycles' own sequence — instead of the fix marking every row. A fix takes
 * that id for its cycle and moves the environment on to the next (`fixing_cycle_*` makes a retried
 * fix take the same one). The stamps name cycles that do not exist yet, so the columns lose their
 * foreign keys. Errors already told keep their cycles, and news not yet taken is stamped by the
 * next fix as before: nothing is sent again, nothing is lost.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table errors drop constraint if exists errors_notified_cycle_id_foreign');
  await knex.raw('alter table errors drop constraint if exists errors_resolution_notified_cycle_id_foreign');
  await knex.raw(`alter table environments
    add column news_cycle_id bigint not null default nextval('digest_cycles_id_seq'),
    add column fixing_cycle_id bigint,
    add column fixing_cycle_number integer`);
}

export async function down(knex: Knex): Promise<void> {
  // Stamps of cycles never fixed are news not yet taken: unstamped, the fix marks them again.
  await knex.raw(`update errors e set notified_cycle_id = null, resolution_notified_cycle_id = null
    where notified_cycle_id is not null and not exists (select 1 from digest_cycles c where c.id = e.notified_cycle_id)`);
  await knex.raw(`update errors e set resolution_notified_cycle_id = null
    where resolution_notified_cycle_id is not null and not exists (select 1 from digest_cycles c where c.id = e.resolution_notified_cycle_id)`);
  await knex.raw(`update errors set resolution_notified_cycle_id = null, notified_cycle_id = null
    where resolution_notified_cycle_id = notified_cycle_id`);
  await knex.raw('alter table environments drop column news_cycle_id, drop column fixing_cycle_id, drop column fixing_cycle_number');
  // Named as the first migration named them, so that up finds them again.
  await knex.raw('alter table errors add constraint errors_notified_cycle_id_foreign foreign key (notified_cycle_id) references digest_cycles (id)');
  await knex.raw(`alter table errors add constraint errors_resolution_notified_cycle_id_foreign
    foreign key (resolution_notified_cycle_id) references digest_cycles (id)`);
}
