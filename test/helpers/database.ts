import { afterAll, inject } from 'vitest';
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { connectDatabase, migrateLatest } from '../../stores/database.js';

/** A fresh, migrated database for this test file, dropped when the file ends. */
export async function createTestDatabase(): Promise<{ db: Knex; url: string }> {
  const adminUrl = inject('databaseAdminUrl');
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const admin = connectDatabase(adminUrl, { max: 1 });
  await admin.raw(`create database ${name}`);
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
