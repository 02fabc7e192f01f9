/**
 * Starts what every test file shares: one PostgreSQL server (embedded, or TEST_DATABASE_URL),
 * in which each test file makes a database of its own. The Temporal test server and the SMTP
 * server are per test file (test/helpers), since time skipping and received mail are per file.
 */
import type { TestProject } from 'vitest/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { freePort } from './helpers/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseAdminUrl', given);
    return async () => {};
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-test-pg-'));
  const database = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  project.provide('databaseAdminUrl', database.adminUrl);
  return async () => {
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
