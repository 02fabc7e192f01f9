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
 * Raises the environment's flag in `trx` (since now, unless already up), holding its row until
 * `trx` commits: a fix's lowering waits for the news it would otherwise not see. Answers whether it
 * was down.
 */
export async function raiseDigestNews(trx: Knex, environment: string): Promise<boolean> {
  const result = await trx.raw<{ rows: unknown[] }>(
    `with was as (select digest_news_since from environments where id = :environment for no key update)
     update environments e set digest_news_since = now() from was where e.id = :environment and was.digest_news_since is null
     returning e.id`,
    { environment },
  );
  return result.rows.length > 0;
}

/** Lowers the flag before a fix reads; answers whether it was up. */
export async function takeDigestNews(db: Knex, environment: string): Promise<boolean> {
  const result = await db.raw<{ rows: unknown[] }>(
    'update environments set digest_news_since = null where id = ? and digest_news_since is not null returning id',
    [environment],
  );
  return result.rows.length > 0;
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
  const later = (table: string) => `select environment_id from ${table} where ${column} = :id and status = 'pending' and retry_at is not null`;
  const { rows } = await db.raw<{ rows: { environment_id: string }[] }>(
    `${later('email_deliveries')} union ${later('channel_messages')}`,
    { id },
  );
  return rows.map((row) => row.environment_id).sort();
}
