/**
 * Starts what every test file shares: one PostgreSQL server (embedded, or TEST_DATABASE_URL),
 * in which each test file makes a database of its own. The Temporal test server and the SMTP
 * server are per test file (test/helpers), since time skipping and received mail are per file.
 * At the end it fails the run if any process the run started is still running (filtered or not).
 */
import type { TestProject } from 'vitest/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { randomBytes } from 'node:crypto';
import { freePort } from './helpers/ports.js';
import { failOnSurvivors, runMarker } from './helpers/run-processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Every process of the run inherits the marker; any still running at the end fails the run.
  const run = randomBytes(8).toString('hex');
  process.env[runMarker] = run;
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseAdminUrl', given);
    return () => failOnSurvivors(run);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-test-pg-'));
  const database = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  project.provide('databaseAdminUrl', database.adminUrl);
  return async () => {
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await failOnSurvivors(run);
  };
}
