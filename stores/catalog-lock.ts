/**
 * The catalog's lock: applying a catalog (or a change of the API, the pages) holds it alone, for
 * its transaction; writers that reference its rows while it may lock them (a cycle's fix, a
 * connection change's deliveries) hold it shared. Without it, an apply that locks users then
 * environments (its upserts lock each row they meet) and a fix that references environments then
 * users (its foreign keys) could deadlock, and one of them be lost.
 */
import type { Knex } from 'knex';

const key = 'herald.catalog';

/** Holds the catalog's lock alone until the transaction ends. */
export async function lockCatalog(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [key]);
}

/** Holds the catalog's lock shared until the transaction ends: writers beside each other, never beside an apply. */
export async function shareCatalogLock(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock_shared(hashtext(?))', [key]);
}
