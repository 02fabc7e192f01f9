/**
 * Whether an environment's digest has news to take (#40): a quiet cycle then costs its timer
 * alone. Every transaction that stores news (an error opened, one resolved) raises the flag as
 * its last statement; the writer tells the digest only when it raised it (or may have raised it
 * unheard: a retried attempt). A cycle's fix lowers it in a transaction of its own before it
 * reads, so news is never lost between them: a writer that commits before the lowering is read by
 * the fix, and one that commits after raises the flag again and tells the digest.
 */
import type { Knex } from 'knex';

/** Tells an environment's digest that it has something to do (#40): the worker's Temporal client signals it. */
export type TellDigest = (environment: string) => Promise<void>;

/**
 * SQL: the cycle that will tell news stored now in the environment `environment` (an SQL
 * expression), stamped on the error it opens or resolves (#40): a fix then reads its news by its
 * own id, and writes no error row.
 */
export const newsCycleSql = (environment: string) => `(select news_cycle_id from environments where id = ${environment})`;

/**
 * SQL for an `update errors` that resolves errors: the cycle that will tell their resolution, for
 * errors stamped to be told. One told by no cycle yet gets the stamp it was opened with, so the
 * same cycle opens and resolves it: nobody hears of it (S10).
 */
export const resolvedStampSql = `case when errors.notified_cycle_id is null then null else ${newsCycleSql('errors.environment_id')} end`;

/** The errors a transaction stamped in one environment, and the cycles it stamped them with. */
export interface NewsStamps {
  opened: number[];
  resolved: number[];
  cycles: number[];
}

/**
 * Raises the environment's flag in `trx` (since now, unless already up), holding its row until
 * `trx` commits: a fix's lowering waits for the news it would otherwise not see. Answers whether it
 * was down.
 *
 * `stamps` are the errors `trx` stamped: if a fix took their cycle while `trx` was storing them,
 * that fix could not read them, so they are stamped again with the environment's next cycle. From
 * here to the commit no fix can take it: the fix moves the environment on by updating the row
 * this holds.
 */
export async function raiseDigestNews(trx: Knex, environment: string, stamps?: NewsStamps): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: { cycle: string; raised: boolean }[] }>(
    `with was as (select digest_news_since, news_cycle_id from environments where id = :environment for no key update),
          up as (update environments e set digest_news_since = now() from was where e.id = :environment and was.digest_news_since is null
                 returning e.id)
     select (select news_cycle_id from was) as cycle, exists (select 1 from up) as raised`,
    { environment },
  );
  const cycle = Number(rows[0]!.cycle);
  if (stamps && stamps.cycles.some((stamped) => stamped !== cycle)) {
    await trx.raw(
      `update errors set
         notified_cycle_id = case when id = any(:opened::bigint[]) then :cycle else notified_cycle_id end,
         resolution_notified_cycle_id = case when id = any(:resolved::bigint[]) and resolution_notified_cycle_id is not null
                                             then :cycle else resolution_notified_cycle_id end
        where id = any(:opened::bigint[] || :resolved::bigint[])`,
      { cycle, opened: stamps.opened, resolved: stamps.resolved },
    );
  }
  return rows[0]!.raised;
}

/**
 * A fix of cycle `number` begins, in a statement of its own before it reads: it lowers the flag
 * (news stored after is told again), and takes the environment's next cycle id for its cycle,
 * moving the environment on to a new one. A retried fix of the same number takes the same id.
 * Answers the id, or null if the cycle is fixed already.
 */
export async function beginFix(db: Knex, environment: string, number: number): Promise<number | null> {
  const { rows } = await db.raw<{ rows: { id: string }[] }>(
    `update environments set digest_news_since = null,
            fixing_cycle_id = case when fixing_cycle_number = :number then fixing_cycle_id else news_cycle_id end,
            news_cycle_id = case when fixing_cycle_number = :number then news_cycle_id else nextval('digest_cycles_id_seq') end,
            fixing_cycle_number = :number
      where id = :environment and not exists (select 1 from digest_cycles where environment_id = :environment and number = :number)
      returning fixing_cycle_id as id`,
    { environment, number },
  );
  return rows.length === 0 ? null : Number(rows[0]!.id);
}

/**
 * Tells the digests of the environments in which a connection change or an assignment left emails
 * or channel messages for later (refused for now, or held by quiet hours): they try them when due,
 * and learn when at their next fix (#40).
 */
export async function tellOfLaterDeliveries(db: Knex, tellDigest: TellDigest, event: Parameters<typeof environmentsWithLaterDeliveries>[1]): Promise<void> {
  for (const environment of await environmentsWithLaterDeliveries(db, event)) await tellDigest(environment);
}

/** The environments in which a connection change or an assignment left emails or channel messages for later. */
async function environmentsWithLaterDeliveries(
  db: Knex,
  event: { connection_event_id: number } | { assignment_event_id: number },
): Promise<string[]> {
  const [column, id] = Object.entries(event)[0]!;
  const { rows } = await db.raw<{ rows: { environment_id: string }[] }>(
    `select distinct environment_id from notifications where ${column} = :id and status = 'pending' and retry_at is not null`,
    { id },
  );
  return rows.map((row) => row.environment_id).sort();
}
