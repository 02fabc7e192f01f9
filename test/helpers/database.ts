import { afterAll, inject } from 'vitest';
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { connectDatabase, migrateLatest } from '../../stores/database.js';

/** A fresh, migrated database for this test file (a copy of the run's migrated one), dropped when the file ends. */
export async function createTestDatabase(): Promise<{ db: Knex; url: string }> {
  const adminUrl = inject('databaseAdminUrl');
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const admin = connectDatabase(adminUrl, { max: 1 });
  await admin.raw(`create database ${name} template ${inject('databaseTemplate')}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = connectDatabase(url.toString());
  await migrateLatest(db);
  afterAll(async () => {
    await db.destroy();
    await admin.raw(`drop database if exists ${name} with (force)`);
    await admin.destroy();
  });
  return { db, url: url.toString() };
}

/** The `from … where …` of the inserts into `errors` that wait for a lock now in this database (in pg_stat_activity; the server is shared by every test file). */
export const insertsWaitingForLock = `from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database() and query like 'insert into errors%'`;

/**
 * Holds a lock on `errors` that makes every insert wait (reads go on), as a slow or stuck
 * database would, until `release()`; `waitingInserts()` counts the inserts waiting for it.
 */
export async function lockErrorsTable(db: Knex) {
  const lock = await db.transaction();
  await lock.raw('lock table errors in share row exclusive mode');
  return {
    waitingInserts: async (): Promise<number> => (await db.raw(`select count(*)::int as n ${insertsWaitingForLock}`)).rows[0].n,
    release: () => lock.commit(),
  };
}
