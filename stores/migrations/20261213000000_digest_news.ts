import type { Knex } from 'knex';

/**
 * One action per quiet cycle (#40): since when an environment has news its digest has not yet
 * taken (new errors, resolutions); null when it has none. Set in the transaction that stores the
 * news, cleared by a cycle's fix; operators watch the oldest (HeraldDigestLate). Every environment
 * has news at first: each digest's next cycle looks, as before.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table environments add column digest_news_since timestamptz default now()');
  await knex.raw('alter table environments alter column digest_news_since drop default');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table environments drop column digest_news_since');
}
