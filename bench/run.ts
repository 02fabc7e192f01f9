/**
 * `npm run bench`: Herald's throughput on this machine, on the real stack (Temporal dev server,
 * embedded PostgreSQL, a local SMTP server). Prints figures; asserts nothing.
 *   1. errors stored per second: one report of 10,000 errors; 200 concurrent single-error reports
 *   2. one digest cycle: 2,000 users, 200 flows, 20,000 new errors
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { applyCatalog, type Catalog } from '../catalog/catalog.js';
import { mjmlCompilations } from '../email/render.js';
import { runHerald } from '../worker/run-herald.js';
import { loadConfig } from '../config/config.js';
import { cliExecutable } from '../embedded/temporal-binaries.js';
import { searchAttributeFlags } from '../worker/search-attributes.js';
import { environmentDigest, runCycleNowUpdate } from '../workflows/environment-digest.js';

Runtime.install({ logger: new DefaultLogger((process.env.HERALD_LOG_LEVEL as 'INFO' | undefined) ?? 'ERROR') });
const only = process.argv[2];
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
const pgDir = mkdtempSync(join(tmpdir(), 'herald-bench-pg-'));
const postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: 54391, persistent: false });
const db = connectDatabase(postgres.adminUrl, { max: 20 });
await migrateLatest(db);

// The SMTP server runs in a process of its own, as a real one would.
const sink = fork(fileURLToPath(new URL('./smtp-sink.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
const sinkPort = await new Promise<number>((resolve) =>
  sink.stdout!.on('data', (chunk: Buffer) => {
    const match = /port (\d+)/.exec(chunk.toString());
    if (match) resolve(Number(match[1]));
  }),
);
const smtpUrl = `smtp://127.0.0.1:${sinkPort}`;
const acceptedBySink = () =>
  new Promise<{ accepted: number; bytes: number; cpuMs: number }>((resolve) => {
    sink.once('message', resolve);
    sink.send('count');
  });

const temporal = await TestWorkflowEnvironment.createLocal({
  server: { executable: cliExecutable(), ip: '127.0.0.1', ui: false, dbFilename: join(dataDir, 'temporal.sqlite'), extraArgs: searchAttributeFlags() },
});
const client = new Client({ connection: temporal.connection });
const running = await runHerald({
  config: loadConfig({ DATABASE_URL: postgres.adminUrl, SMTP_URL: smtpUrl, HERALD_TASK_QUEUE: 'bench', HERALD_FROM: 'Herald <bench@herald.test>', HERALD_APP_URL: 'https://app.herald.test', HERALD_DIGEST_INTERVAL: '24h' }),
  connection: temporal.nativeConnection,
  client,
  db,
  migrate: false,
  ensureDigests: false,
  maxConcurrentActivityTaskExecutions: 200,
  smtpConnections: 8,
});
const herald = running.herald;

const flows = Array.from({ length: 200 }, (_, i) => `flow-${String(i).padStart(3, '0')}`);
const users = Array.from({ length: 2_000 }, (_, i) => `user${i}@bench.test`);
const catalog: Catalog = {
  accounts: [{ id: 'bench', name: 'Bench Corp' }],
  users: users.map((email) => ({ account: 'bench', email, role: 'monitor' })),
  environments: [
    { id: 'bench-prod', account: 'bench', name: 'Production', production: true },
    { id: 'bench-errors', account: 'bench', name: 'Error intake', production: false },
  ],
  integrations: Array.from({ length: 20 }, (_, i) => ({ id: `int-${i}`, environment: 'bench-prod', name: `Integration ${i}` })).concat([
    { id: 'intake', environment: 'bench-errors', name: 'Intake' },
  ]),
  flows: flows
    .map((id, i) => ({ id, integration: `int-${i % 20}`, name: `Flow ${i}` }))
    .concat([{ id: 'intake-flow', integration: 'intake', name: 'Intake flow' }]),
  // Each user follows 10 flows, spread so that few users share the same set.
  subscriptions: users.map((email, i) => ({
    environment: 'bench-prod',
    user: email,
    flows: Array.from({ length: 10 }, (_, k) => flows[(i * 7 + k * 13) % 200]!),
  })),
};
await applyCatalog(db, catalog);

try {
  if (!only || only === 'errors') {
    const errors = Array.from({ length: 10_000 }, (_, i) => ({ traceKey: `rec-${i}`, message: `Record ${i} rejected by the target`, code: 'VALIDATION' }));
    let started = performance.now();
    const batch = await herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', batchId: 'bench-10k', errors });
    let seconds = (performance.now() - started) / 1000;
    console.log(`errors: one report of 10,000 errors stored in ${seconds.toFixed(2)} s = ${(batch.stored / seconds).toFixed(0)} errors/s`);

    started = performance.now();
    const singles = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', batchId: `single-${i}`, errors: [{ traceKey: `s-${i}`, message: 'x' }] }),
      ),
    );
    seconds = (performance.now() - started) / 1000;
    const stored = singles.reduce((n, r) => n + r.stored, 0);
    console.log(`errors: 200 concurrent single-error reports stored in ${seconds.toFixed(2)} s = ${(stored / seconds).toFixed(0)} errors/s`);
  }

  if (!only || only === 'digest') {
    // 20,000 new errors, 100 per flow, written directly: the cycle is what is measured here.
    await db.raw(
      `insert into errors (environment_id, flow_id, batch_id, error_key, trace_key, message, code, step, status, occurred_at)
       select 'bench-prod', 'flow-' || lpad((g % 200)::text, 3, '0'), 'seed', 'e' || g, 'trace-' || g,
              'Record ' || g || ' was rejected: the customer account is on credit hold', 'CREDIT_HOLD', 'Import orders', 'open', now()
         from generate_series(1, 20000) g`,
    );
    const digest = await client.workflow.start(environmentDigest, {
      workflowId: 'digest/bench-prod',
      taskQueue: 'bench',
      args: [{ environment: 'bench-prod', intervalMs: 24 * 3_600_000 }],
    });
    const compilationsBefore = mjmlCompilations();
    const sinkBefore = await acceptedBySink();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const summary = await digest.executeUpdate(runCycleNowUpdate);
    const seconds = (performance.now() - started) / 1000;
    const smtp = await acceptedBySink();
    const cpu = process.cpuUsage(cpuBefore);
    console.log(
      `digest: ${summary.sent} emails (${summary.emails} deliveries, ${smtp.accepted} accepted by SMTP, ${(smtp.bytes / smtp.accepted / 1024).toFixed(0)} KiB each) ` +
        `for ${summary.newErrors} new errors in ${seconds.toFixed(2)} s = ${(summary.sent / seconds).toFixed(0)} emails/s`,
    );
    const phases = await db.raw(
      `select extract(epoch from (min(d.sent_at) - c.fixed_at)) as fixing, extract(epoch from (max(d.sent_at) - min(d.sent_at))) as sending
         from digest_cycles c join email_deliveries d on d.cycle_id = c.id where c.environment_id = 'bench-prod' group by c.id`,
    );
    const { fixing, sending } = phases.rows[0];
    console.log(
      `digest: fixing the cycle and the first email ${Number(fixing).toFixed(2)} s; sending ${Number(sending).toFixed(2)} s from first to last email = ${(summary.sent / Number(sending)).toFixed(0)} emails/s`,
    );
    console.log(
      `digest: CPU during the cycle: bench process (worker and client) ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, ` +
        `SMTP sink ${((smtp.cpuMs - sinkBefore.cpuMs) / 1000).toFixed(2)} s, of ${seconds.toFixed(2)} s`,
    );
    console.log(`digest: MJML compilations in this process: ${mjmlCompilations()} (${mjmlCompilations() - compilationsBefore} during the cycle)`);
    await digest.terminate('benchmark done');
  }
} finally {
  await running.stop();
}

clearInterval(sampler);
console.log(`memory: peak RSS ${mb(Math.max(peakRss, process.resourceUsage().maxRSS * 1024))} (bench process: worker and client)`);
await db.destroy();
await temporal.teardown();
await postgres.stop();
sink.kill();
rmSync(dataDir, { recursive: true, force: true });
rmSync(pgDir, { recursive: true, force: true });
