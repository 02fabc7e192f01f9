/**
 * Starts what every test file shares: one PostgreSQL server (embedded, or TEST_DATABASE_URL),
 * in which each test file makes a database of its own, a copy of one migrated here once (copying a
 * database takes a tenth of the time its migrations do). The Temporal test server and the SMTP
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
import { connectDatabase, migrateLatest } from '../stores/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseAdminUrl: string;
    /** A database with every migration applied, which test files copy (CREATE DATABASE … TEMPLATE). */
    databaseTemplate: string;
  }
}

/** Makes the migrated database the test files copy; answers how to drop it. */
async function migratedTemplate(project: TestProject, adminUrl: string, run: string): Promise<() => Promise<void>> {
  const name = `herald_template_${run}`;
  const admin = connectDatabase(adminUrl, { max: 1 });
  await admin.raw(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = connectDatabase(url.toString(), { max: 1 });
  await migrateLatest(db);
  // A database is copied only while no one is connected to it.
  await db.destroy();
  project.provide('databaseTemplate', name);
  return async () => {
    await admin.raw(`drop database if exists ${name} with (force)`);
    await admin.destroy();
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Every process of the run inherits the marker; any still running at the end fails the run.
  const run = randomBytes(8).toString('hex');
  process.env[runMarker] = run;
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseAdminUrl', given);
    const dropTemplate = await migratedTemplate(project, given, run);
    return async () => {
      await dropTemplate();
      await failOnSurvivors(run);
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-test-pg-'));
  const database = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  project.provide('databaseAdminUrl', database.adminUrl);
  const dropTemplate = await migratedTemplate(project, database.adminUrl, run);
  return async () => {
    await dropTemplate();
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await failOnSurvivors(run);
  };
}
