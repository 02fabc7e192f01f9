import type { Knex } from 'knex';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { applyCatalog, type Catalog } from '../../catalog/catalog.js';
import { createTestDatabase } from './database.js';
import { createTimeSkippingEnvironment } from './temporal.js';
import { startTestMailServer, type TestMailServer } from './mail.js';
import { startHerald, type RunningHerald } from './herald.js';
import { createTestWorld } from './world.js';

/**
 * A fresh database holding the test world (or `catalog`) and a mail server: what tests that run
 * Herald's workers as processes of their own start from.
 */
export async function startWorld(catalog?: Catalog): Promise<{ db: Knex; url: string; mail: TestMailServer }> {
  const { db, url } = await createTestDatabase();
  await createTestWorld(db, catalog);
  return { db, url, mail: await startTestMailServer() };
}

export interface HeraldFixture {
  env: TestWorkflowEnvironment;
  db: Knex;
  /** The test database's URL, for processes of their own. */
  url: string;
  mail: TestMailServer;
  herald: RunningHerald;
}

/**
 * What most test files start from: the time-skipping Temporal server, a fresh database holding
 * the test world (or `catalog`, and then `also`), a mail server that receives what Herald sends, and a real Herald
 * worker sending to it (with `herald`'s options). Everything ends with the file.
 */
export async function startFixture(
  options: {
    catalog?: Catalog;
    /** Catalogs applied after it, in order: what a file adds to the world. */
    also?: Catalog[];
    herald?: Omit<Parameters<typeof startHerald>[0], 'env' | 'db'>;
  } = {},
): Promise<HeraldFixture> {
  const env = await createTimeSkippingEnvironment();
  const { db, url, mail } = await startWorld(options.catalog);
  for (const more of options.also ?? []) await applyCatalog(db, more);
  const herald = await startHerald({ env, db, smtpUrl: mail.url, ...options.herald });
  return { env, db, url, mail, herald };
}
