import knex, { type Knex } from 'knex';
import pg from 'pg';

// bigint (count(*), bigserial ids) as JS numbers: Herald's ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * A knex pool on PostgreSQL. `quiet` keeps knex's own warnings (a refused connection, logged
 * with its stack) off the console, for callers that report such failures themselves.
 */
export function connectDatabase(url: string, pool: { min?: number; max?: number } = {}, options: { quiet?: boolean } = {}): Knex {
  return knex({
    client: 'pg',
    connection: url,
    pool: { min: pool.min ?? 0, max: pool.max ?? 10 },
    ...(options.quiet && { log: { warn() {}, error() {}, deprecate() {}, debug() {} } }),
  });
}

/** The migrations, loaded by what applies them: most who connect never do (the command line, say). */
const migrations = () => import('./migrations/index.js');

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const { migrationSource } = await migrations();
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

/** Rolls back every migration (for tests of the down migrations). */
export async function migrateRollbackAll(db: Knex): Promise<void> {
  const { migrationSource } = await migrations();
  await db.migrate.rollback({ migrationSource }, true);
}
