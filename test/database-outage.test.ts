import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../embedded/embedded-postgres.js';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer, type TestMailServer } from './helpers/mail.js';
import { startHerald, type RunningHerald } from './helpers/herald.js';
import { startServer } from './helpers/server.js';
import { createTokenStore } from '../stores/token-store.js';
import { createTestWorld } from './helpers/world.js';
import { startDigest } from './helpers/digests.js';
import { freePort } from './helpers/ports.js';
import { applyCatalog } from '../catalog/catalog.js';
import { runNowSignal } from '../workflows/environment-digest.js';

// A PostgreSQL server of this file's own: stopping the suite's shared one would fail every other file.
describe('a database outage in the middle of sending', () => {
  // Started in beforeAll, not while the file is collected: a run that filters this test out never
  // starts the server (a PostgreSQL of its own runs in its own process group and would outlive it).
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-outage-pg-'));
  let postgres: EmbeddedDatabase | undefined;
  let db: Knex;
  let env: TestWorkflowEnvironment;
  let mail: TestMailServer;
  let herald: RunningHerald;
  let digest: WorkflowHandle;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    postgres = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    const admin = connectDatabase(postgres.adminUrl, { max: 1 });
    await admin.raw('create database herald');
    await admin.destroy();
    // Quiet: knex would print each refused connection of the outage, with its stack, among the test's output.
    db = connectDatabase(postgres.urlFor('herald'), {}, { quiet: true });
    await migrateLatest(db);
    await createTestWorld(db);
    env = await createTimeSkippingEnvironment();
    mail = await startTestMailServer();
    herald = await startHerald({ env, db, smtpUrl: mail.url });
    digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: 15 * 60_000 });
  });
  afterAll(async () => {
    await db?.destroy();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('S33: PostgreSQL stopped while a cycle of 300 emails is being sent, restarted 20 s later: every email is sent once, no duplicate', async () => {
    const clerks = Array.from({ length: 298 }, (_, i) => ({ account: 'acme', email: `clerk${i}@acme.test`, role: 'monitor' as const }));
    await applyCatalog(db, {
      users: clerks,
      subscriptions: clerks.map((u) => ({ environment: 'prod', user: u.email, flows: ['invoices'] })),
    });
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-DB', message: 'Database outage test' }] });
    // ops and the 298 clerks follow invoices; orders-team does not: 299 emails.
    const expected = 299;
    mail.setDelay(100);
    await digest.signal(runNowSignal);
    await mail.waitFor(40, { timeoutMs: 30_000 });
    await postgres!.stop();
    postgres = undefined;
    const atStop = mail.received.length;

    // While the database is down, nothing more is handed to SMTP beyond the emails already in flight.
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const duringOutage = mail.received.length;
    // No more than the pool's 5 connections: the emails past the fence's check when the database went away.
    expect(duringOutage - atStop).toBeLessThanOrEqual(5);
    expect(duringOutage).toBeLessThan(expected);

    postgres = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    mail.setDelay(0);
    await mail.waitFor(expected, { timeoutMs: 90_000 });
    await expect.poll(async () => (await db('notifications').whereNull('channel_id').where({ status: 'sent' }).count({ n: '*' }))[0]!.n, { timeout: 30_000 }).toBe(expected);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const recipients = mail.received.map((m) => m.envelopeTo[0]);
    expect(recipients).toHaveLength(expected);
    expect(new Set(recipients).size).toBe(expected);
  });

  it('S29: while PostgreSQL is down, the API answers 503 with Retry-After and the pages an error page, neither showing where the database is', async () => {
    const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue });
    const { token } = await createTokenStore(db).create('acme', 'outage');
    await postgres!.stop();
    postgres = undefined;
    try {
      const api = await fetch(`${server.url}/api/v1/errors?environment=prod`, { headers: { authorization: `Bearer ${token}` } });
      expect(api.status).toBe(503);
      expect(Number(api.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = await api.text();
      expect(JSON.parse(body)).toEqual({ error: expect.stringMatching(/^Herald cannot reach a service it needs right now/) });
      expect(body).not.toContain(String(port));
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      // A page whose session cannot be saved: an error page, not Fastify's bare JSON.
      const page = await fetch(`${server.url}/sign-in`);
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain('data-page="problem"');
      expect(html).not.toContain(String(port));
    } finally {
      postgres = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    }
    const after = await fetch(`${server.url}/api/v1/errors?environment=prod`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(200);
  });

  it('S29, S1: a request in flight while PostgreSQL stops answering is answered 503 with Retry-After at the deadline; the caller\'s retry of the same report stores it once', async () => {
    const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_REQUEST_DEADLINE: '2s' } });
    const { token } = await createTokenStore(db).create('acme', 'deadline');
    const report = { environment: 'prod', flow: 'orders', reportId: 'deadline-1', errors: [{ traceKey: 'SO-DL', message: 'Reported while the database hung' }] };
    const post = () => fetch(`${server.url}/api/v1/errors`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(report) });
    // The database stops answering (its processes stopped, their connections open): a query waits, it is not refused.
    const stopped = postgresProcesses(dataDir);
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    // It answers again when the request is answered, or 15 s on (a server without a deadline then answers 200, late).
    const resume = () => stopped.forEach((pid) => process.kill(pid, 'SIGCONT'));
    const later = setTimeout(resume, 15_000);
    const first = await post().finally(() => (clearTimeout(later), resume()));
    expect(first.status).toBe(503);
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await first.json()) as { error: string }).error).toMatch(/^Herald could not answer in time/);
    // The caller sends the same report again: stored once, whatever became of the first request's work.
    const again = await post();
    expect(again.status).toBe(200);
    expect(await db('errors').where({ report_id: 'deadline-1' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    await server.stop();
  });
});

/** The processes of this file's PostgreSQL: the postmaster (its pid heads postmaster.pid) and its children. */
function postgresProcesses(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  return [postmaster, ...children];
}
