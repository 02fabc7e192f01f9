import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from './helpers/database.js';
import { tempFolder } from './helpers/temp.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { compiledHerald } from './helpers/compiled-herald.js';
import { loadConfig, ConfigError } from '../config/config.js';
import { digestStatusQuery } from '../workflows/environment-digest.js';
import { commands as cliCommands, intro, outro } from '../cli/commands.js';
import { helpText } from '../cli/command-line.js';

const run = promisify(execFile);
/** The `herald` command as installed (bin/herald.js, from source here), and the same command line compiled, which most tests run: it starts in half the time. */
const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const compiledCli = `${compiledHerald()}/cli/main.js`;
const sample = new URL('../examples/catalog.yaml', import.meta.url).pathname;

describe('the herald command line', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db, url } = await createTestDatabase();
  const worker = await startHerald({ env, db });
  const environment = { ...process.env, HERALD_FROM_SOURCE: '1', DATABASE_URL: url, TEMPORAL_ADDRESS: env.address, HERALD_TASK_QUEUE: worker.taskQueue };
  const cli = async (...args: string[]) => commandLine(compiledCli, ...args);
  const commandLine = async (entry: string, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run('node', [entry, ...args], { env: environment });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  it('applies a catalog file twice with the same result, and starts each environment\'s digest', async () => {
    const first = await cli('catalog', 'apply', sample);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('applied: 1 accounts, 3 users, 3 environments');
    expect(first.stdout).toContain('digest workflows started: digest/acme-production, digest/acme-sandbox, digest/acme-staging');
    // Applied again: nothing new, no environment's digest touched.
    const second = await cli('catalog', 'apply', sample);
    expect(second.stdout).toContain('applied: nothing changed');
    expect(second.stdout).toContain('digest workflows started: none new');
    const staging = worker.temporal.workflow.getHandle('digest/acme-staging');
    expect((await staging.describe()).status.name).toBe('RUNNING');

    // A digest ended by hand is not started again by an apply; `herald digest ensure` starts it, and leaves the running ones.
    const production = worker.temporal.workflow.getHandle('digest/acme-production');
    const productionRun = (await production.describe()).runId;
    await staging.terminate('ended by hand');
    expect((await cli('catalog', 'apply', sample)).stdout).toContain('digest workflows started: none new');
    expect(await cli('digest', 'ensure')).toMatchObject({ code: 0, stdout: expect.stringContaining('digest workflows ensured: 3 environment(s)') });
    expect((await worker.temporal.workflow.getHandle('digest/acme-staging').describe()).status.name).toBe('RUNNING');
    expect((await production.describe()).runId).toBe(productionRun);
  });

  it('S29: creates an API token (shown once), lists tokens without them, revokes one; refuses an unknown account by name', async () => {
    await db('accounts').insert({ id: 'tokens-co', name: 'Tokens Co' }).onConflict('id').ignore();
    const created = await cli('tokens', 'create', '--account', 'tokens-co', '--name', 'billing flow');
    expect(created.code).toBe(0);
    const token = created.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^hrld_[A-Za-z0-9_-]{43}$/);
    const listed = await cli('tokens', 'list', '--account', 'tokens-co');
    expect(listed.stdout).toMatch(/tokens-co {2}billing flow {2}report,read,manage {2}created \d{4}-\d\d-\d\d \d\d:\d\d {2}used -\n1 token\(s\)/);
    expect(listed.stdout).not.toContain(token);
    const id = /^ *(\d+) /.exec(listed.stdout)![1]!;
    expect((await cli('tokens', 'revoke', id)).stdout).toBe(`token ${id} revoked\n`);
    expect((await cli('tokens', 'list', '--account', 'tokens-co')).stdout).toContain('REVOKED');
    expect(await cli('tokens', 'revoke', id)).toMatchObject({ code: 2, stderr: expect.stringContaining(`no active token ${id}`) });
    expect(await cli('tokens', 'create', '--account', 'nobody', '--name', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('account: unknown account "nobody"') });
    // S40: scopes chosen at creation, and an installation's token over every account.
    expect((await cli('tokens', 'create', '--account', 'tokens-co', '--name', 'reporter', '--scopes', 'report')).code).toBe(0);
    expect((await cli('tokens', 'create', '--installation', '--name', 'platform')).stdout).toContain('for the installation');
    const scoped = (await cli('tokens', 'list')).stdout;
    expect(scoped).toMatch(/tokens-co {2}reporter {2}report {2}created/);
    expect(scoped).toMatch(/\(installation\) {2}platform {2}report,read,manage {2}created/);
    expect(await cli('tokens', 'create', '--account', 'tokens-co', '--name', 'x', '--scopes', 'report,admin')).toMatchObject({ code: 2, stderr: expect.stringContaining('scopes: must be one or more of report, read, manage, not admin') });
    expect(await cli('tokens', 'create', '--name', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('give --account ACCOUNT or --installation') });
  });

  it('S22: prints a sign-in link for an operator, one per account of the address; refuses an address of nobody', async () => {
    await cli('catalog', 'apply', sample);
    const printed = await cli('users', 'sign-in-link', '--email', 'owner@acme.example');
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^Acme Outfitters \(acme\): http:\/\/localhost:8080\/sign-in\/[A-Za-z0-9_-]{43}\n$/);
    expect(await db('sign_in_links').whereNull('used_at').count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await cli('users', 'sign-in-link', '--email', 'nobody@example.com')).toMatchObject({ code: 2, stderr: expect.stringContaining('nobody@example.com is no current user') });
  });

  it('refuses a broken catalog file with path-named errors and writes nothing', async () => {
    const dir = await tempFolder('cli');
    const file = join(dir, 'broken.json');
    await writeFile(file, JSON.stringify({ accounts: [{ id: 'other', name: 'Other' }], flows: [{ id: 'f', integration: 'crm', name: 'F' }] }));
    const result = await cli('catalog', 'apply', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('flows[0].integration: unknown integration "crm"');
    expect(await db('accounts').where({ id: 'other' }).first()).toBeUndefined();
  });

  it('reports, lists, succeeds and resolves errors; refuses bad input naming the field', async () => {
    const reported = await cli('errors', 'report', '--env', 'acme-production', '--flow', 'customers-to-erp',
      '--trace-key', 'C-1', '--message', 'Customer email invalid', '--code', 'VALIDATION');
    expect(reported.stdout).toMatch(/^stored 1 \(1 open, 0 retrying\)/);

    const listed = await cli('errors', 'list', '--env', 'acme-production', '--json');
    const [error] = JSON.parse(listed.stdout) as { id: number; traceKey: string; status: string }[];
    expect(error).toMatchObject({ traceKey: 'C-1', status: 'open' });

    const resolved = await cli('errors', 'resolve', '--env', 'acme-production', '--user', 'owner@acme.example', String(error!.id));
    expect(resolved.stdout).toContain(`resolved 1 of 1: ${error!.id}`);

    const bad = await cli('errors', 'report', '--env', 'acme-production', '--flow', 'nope', '--trace-key', 'X', '--message', 'm');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('flow: unknown flow "nope" in environment "acme-production"');
    const empty = await cli('errors', 'report', '--env', 'acme-production', '--flow', 'orders-to-erp', '--trace-key', 'X', '--message', ' ');
    expect(empty.stderr).toContain('errors[0].message: must not be empty');

    const offline = await cli('connections', 'status', '--env', 'acme-production', '--connection', 'erp-api', '--offline', '--reason', 'timeout');
    expect(offline.stdout).toContain('status changed');
    const again = await cli('connections', 'status', '--env', 'acme-production', '--connection', 'erp-api', '--offline');
    expect(again.stdout).toContain('status unchanged (a repeat)');

    const now = await cli('digest', 'now', '--env', 'acme-staging');
    expect(now.stdout).toMatch(/^cycle 1: 0 new, 0 resolved; 0 email\(s\) sent, 0 failed/);
    const status = await cli('status');
    expect(status.stdout).toContain('acme-production (Production)');
    expect(status.stdout).toContain('connection erp-api: offline since');
    expect(status.stdout).toMatch(/acme-staging \(Staging, non-production\)\n {2}digest waiting, last cycle 1, next at \d{4}-/);

    const succeeded = await cli('errors', 'succeed', '--env', 'acme-production', '--flow', 'customers-to-erp', 'C-1');
    expect(succeeded.stdout).toContain('auto-resolve is off for this flow');
  });

  it('digest preview writes what a user\'s next digest would hold, and sends or changes nothing', async () => {
    await cli('errors', 'report', '--env', 'acme-production', '--flow', 'shipments-to-warehouse',
      '--trace-key', 'SHIP-7', '--message', 'Pick list rejected: <bin> unknown', '--code', 'BIN');
    const dir = await tempFolder('preview');
    const out = join(dir, 'digest.html');
    const before = { cycles: await db('digest_cycles').count({ n: '*' }), told: await db('errors as e').join('digest_cycles as c', 'c.id', 'e.notified_cycle_id').count({ n: '*' }) };

    const preview = await cli('digest', 'preview', '--env', 'acme-production', '--user', 'fulfillment-center@acme.example', '--out', out);
    expect(preview).toMatchObject({ code: 0 });
    expect(preview.stdout).toMatch(/would email fulfillment-center@acme\.example: ".+" \(1 new, 0 resolved, 1 open\)/);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('Pick list rejected: &lt;bin&gt; unknown');
    expect(html).toContain('Shipments to warehouse pick lists');
    expect(await readFile(join(dir, 'digest.txt'), 'utf8')).toContain('SHIP-7');
    expect({ cycles: await db('digest_cycles').count({ n: '*' }), told: await db('errors as e').join('digest_cycles as c', 'c.id', 'e.notified_cycle_id').count({ n: '*' }) }).toEqual(before);
    expect(await db('notifications').whereNull('channel_id').where({ recipient: 'fulfillment-center@acme.example' }).count({ n: '*' })).toEqual([{ n: 0 }]);

    const nothing = await cli('digest', 'preview', '--env', 'acme-staging', '--user', 'owner@acme.example', '--out', join(dir, 'none.html'));
    expect(nothing.stdout).toContain('would send owner@acme.example nothing: nothing new and nothing resolved');
    const stranger = await cli('digest', 'preview', '--env', 'acme-production', '--user', 'who@else.example', '--out', out);
    expect(stranger).toMatchObject({ code: 2 });
    expect(stranger.stderr).toContain('"who@else.example" is not a user of the account of environment "acme-production"');
  });

  it('S40: herald users put, list and remove, and subscriptions set, do what the API does, on the same code', async () => {
    await cli('catalog', 'apply', sample);
    const put = await cli('users', 'put', '--account', 'acme', '--email', 'Cli@Acme.example', '--role', 'monitor', '--name', 'Cli');
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toEqual({ email: 'cli@acme.example', name: 'Cli', role: 'monitor', removed: false });
    expect(await cli('users', 'put', '--account', 'acme', '--email', 'cli@acme.example', '--role', 'boss')).toMatchObject({ code: 2, stderr: expect.stringContaining('role: must be one of owner, admin, manage, monitor') });
    const set = await cli('subscriptions', 'set', '--account', 'acme', '--env', 'acme-production', '--user', 'cli@acme.example', '--flows', 'orders-to-erp');
    expect(JSON.parse(set.stdout)).toMatchObject({ flows: ['orders-to-erp'], integrations: [], connections: [] });
    expect((await cli('users', 'list', '--account', 'acme')).stdout).toMatch(/^cli@acme\.example {2}monitor {2}Cli$/m);
    expect(JSON.parse((await cli('users', 'remove', '--account', 'acme', '--email', 'cli@acme.example')).stdout)).toMatchObject({ removed: true });
    expect((await cli('users', 'list', '--account', 'acme')).stdout).toMatch(/^cli@acme\.example {2}monitor {2}Cli {2}REMOVED$/m);
    // The catalog applied by an operator is in the audit too (this file applied it first in an earlier test).
    expect(await db('audit_events').where({ account_id: 'acme', kind: 'catalog' }).first('actor', 'action')).toEqual({ actor: 'operator (herald catalog apply)', action: 'applied' });
    // (Errors resolved and snoozed by this file's earlier tests are in it too, as kind "errors".)
    expect(await db('audit_events').where({ account_id: 'acme' }).whereNotIn('kind', ['catalog', 'errors']).orderBy('id').select('actor', 'action')).toEqual([
      { actor: 'operator (herald users put)', action: 'created' },
      { actor: 'operator (herald subscriptions set)', action: 'changed' },
      { actor: 'operator (herald users remove)', action: 'removed' },
    ]);
  });

  it('herald --help lists every command, and every command has complete help of its own', async () => {
    // As a user runs it: bin/herald.js, from source.
    const top = await commandLine(herald, '--help');
    const commands = [...top.stdout.matchAll(/^ {2}([a-z]+(?: [a-z-]+)?)\b.* {2,}\S/gm)].map((m) => m[1]!);
    expect(commands).toEqual([
      'db migrate', 'catalog apply', 'errors report', 'errors succeed', 'errors resolve', 'errors snooze', 'errors assign', 'errors list', 'tokens create', 'tokens list', 'tokens revoke', 'users sign-in-link',
      'users put', 'users remove', 'users list', 'subscriptions set', 'connections status', 'digest now', 'digest remind', 'digest interval', 'digest ensure', 'digest preview', 'status', 'simulate',
    ]);
    // Each command's help, as the command line makes it (one process each would spend a minute of CPU on what one function writes)…
    for (const command of commands) {
      const help = helpText(cliCommands, command, intro, outro);
      // The usage, then at least one sentence of what the command does.
      expect(help).toMatch(new RegExp(`^Usage: herald ${command}\\b[^]*\\n[A-Z][a-z]+ [^]+\\.\\s*$`));
    }
    // …and as the command prints it.
    const printed = await commandLine(herald, 'errors', 'snooze', '--help');
    expect(printed).toMatchObject({ code: 0, stdout: `${helpText(cliCommands, 'errors snooze', intro, outro)}\n` });
  });

  it('stops on a bad configuration value, naming the variable and what is allowed', async () => {
    expect(() => loadConfig({ HERALD_RETRY_WINDOW: '5 fortnights' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL: 'mail.example.com' })).toThrow(
      'SMTP_URL="mail.example.com" is not valid: expected a URL starting with smtp:// or smtps://',
    );
    expect(loadConfig({ HERALD_DIGEST_INTERVAL: '90s' }).digestIntervalMs).toBe(90_000);
    const result = await run('node', [herald, 'db', 'migrate'], { env: { ...environment, HERALD_DIGEST_INTERVAL: 'often' } }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(result).toMatchObject({ code: 2 });
    expect((result as { stderr: string }).stderr).toContain('HERALD_DIGEST_INTERVAL="often" is not valid');
  });

  it('answers one line, naming the variable and the fix, when PostgreSQL or Temporal cannot be reached', async () => {
    const attempt = (variables: Record<string, string>, ...args: string[]) =>
      run('node', [herald, ...args], { env: { ...environment, ...variables } }).then(
        () => ({ code: 0, stderr: '' }),
        (e: unknown) => e as { code: number; stderr: string },
      );
    const noDatabase = await attempt({ DATABASE_URL: 'postgres://herald:x@127.0.0.1:9/herald' }, 'errors', 'list');
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stderr).toBe('herald: cannot reach PostgreSQL at 127.0.0.1:9: start Herald with "npm start", or set DATABASE_URL to where it runs\n');
    const noTemporal = await attempt({ TEMPORAL_ADDRESS: '127.0.0.1:9' }, 'digest', 'now', '--env', 'acme-staging');
    expect(noTemporal.code).toBe(1);
    expect(noTemporal.stderr).toBe('herald: cannot reach Temporal at 127.0.0.1:9: start Herald with "npm start", or set TEMPORAL_ADDRESS to where it runs\n');
  });

  it('S7: digest interval changes how often a running digest runs, from its last cycle, and refuses what is out of bounds', async () => {
    await cli('catalog', 'apply', sample); // idempotent: the environment and its digest, also when this test runs alone
    const staging = worker.temporal.workflow.getHandle('digest/acme-staging');
    // A digest just started knows its next cycle once it has read its last one.
    await expect.poll(async () => (await staging.query(digestStatusQuery)).lastCycle, { timeout: 20_000 }).toBeGreaterThanOrEqual(0);
    const before = await staging.query(digestStatusQuery);
    const changed = await cli('digest', 'interval', '--env', 'acme-staging', '5m');
    expect(changed).toMatchObject({ code: 0 });
    expect(changed.stdout).toMatch(/^digest of acme-staging: every 5m, kept across deploys; next cycle at \d{4}-/);
    const after = await worker.temporal.workflow.getHandle('digest/acme-staging').query(digestStatusQuery);
    expect(after).toMatchObject({ intervalMs: 5 * 60_000, intervalFrom: 'operator' });
    expect(Date.parse(after.nextCycleAt)).toBe(Date.parse(before.nextCycleAt) - 10 * 60_000);
    const tooOften = await cli('digest', 'interval', '--env', 'acme-staging', '500ms');
    expect(tooOften.code).toBe(2);
    expect(tooOften.stderr).toContain('interval: must be a whole number of milliseconds from 1000 (1 s) to 604800000 (7 days)');
    expect((await worker.temporal.workflow.getHandle('digest/acme-staging').query(digestStatusQuery)).intervalMs).toBe(5 * 60_000);
    const handedBack = await cli('digest', 'interval', '--env', 'acme-staging', 'default');
    expect(handedBack).toMatchObject({ code: 0, stdout: "digest of acme-staging: follows the workers' HERALD_DIGEST_INTERVAL from its next cycle\n" });
    expect(await staging.query(digestStatusQuery)).toMatchObject({ intervalMs: 5 * 60_000, intervalFrom: 'workers' });
  });

  it('S31: digest remind looks for errors left open at once, and says when nobody is due', async () => {
    await cli('catalog', 'apply', sample); // idempotent: the environments and their digests, also when this test runs alone
    await cli('errors', 'report', '--env', 'acme-staging', '--flow', 'staging-orders-to-erp', '--trace-key', 'ST-31', '--message', 'Left open');
    const young = await cli('digest', 'remind', '--env', 'acme-staging');
    expect(young).toMatchObject({ code: 0, stdout: 'acme-staging: nobody to remind (no error open past the threshold, or reminded in the last day)\n' });
    const badWait = await cli('digest', 'remind', '--env', 'acme-staging', '--wait', 'soon');
    expect(badWait).toMatchObject({ code: 2, stderr: expect.stringContaining('--wait must be a duration of at least 1s') });
  });

  it('S34: with the mail server down, digest now returns after --wait saying what is pending and why, and herald status says the same', async () => {
    await cli('catalog', 'apply', sample); // idempotent: the environments and their digests, also when this test runs alone
    await cli('errors', 'report', '--env', 'acme-production', '--flow', 'orders-to-erp', '--trace-key', 'SO-34', '--message', 'Outage test');
    // It returns by its --wait (exit 3, "still running after 3s"), not by the cycle's end: no clock needed to tell.
    const now = await cli('digest', 'now', '--env', 'acme-production', '--wait', '3s');
    expect(now.code).toBe(3);
    expect(now.stderr).toMatch(/the cycle of acme-production is still running after 3s \(since \d{4}-.+\): \d+ email\(s\) pending; last delivery error: .*ECONNREFUSED/);
    const status = await cli('status');
    expect(status.stdout).toMatch(/acme-production \(Production\)\n {2}digest running cycle \d+ since \d{4}-/);
    expect(status.stdout).toMatch(/ {2}deliveries: \d+ email\(s\) pending; last delivery error: .*ECONNREFUSED/);
  });

  it('S46: snoozes errors for a while or a group until it happens again; refuses a monitor and a snooze without an end, naming the field', async () => {
    await cli('catalog', 'apply', sample); // idempotent: also when this test runs alone
    await cli('errors', 'report', '--env', 'acme-production', '--flow', 'orders-to-erp', '--trace-key', 'SN-1', '--message', 'Carrier unknown for order 4711');
    const { id } = (await db('errors').where({ trace_key: 'SN-1' }).first('id'))!;
    const snoozed = await cli('errors', 'snooze', '--env', 'acme-production', '--user', 'integrations@acme.example', '--for', '1 day', String(id));
    expect(snoozed.stdout).toMatch(new RegExp(`^snoozed 1 error\\(s\\) until \\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z: ${id}$`, 'm'));
    const { fingerprint } = (await db('errors').where({ id }).first('fingerprint'))!;
    const group = await cli('errors', 'snooze', '--env', 'acme-production', '--user', 'owner@acme.example', '--flow', 'orders-to-erp', '--group', fingerprint, '--events', '2');
    expect(group.stdout).toContain(`snoozed 1 error(s) until 2 more of them: ${id}`);
    expect(await db('snoozes').where({ environment_id: 'acme-production' }).orderBy('id').select('trace_key', 'group_key', 'events_left', 'snoozed_by')).toEqual([
      { trace_key: 'SN-1', group_key: null, events_left: null, snoozed_by: 'integrations@acme.example' },
      { trace_key: null, group_key: fingerprint, events_left: 2, snoozed_by: 'owner@acme.example' },
    ]);

    const monitor = await cli('errors', 'snooze', '--env', 'acme-production', '--user', 'fulfillment-center@acme.example', '--for', '1h', String(id));
    expect(monitor.code).toBe(2);
    expect(monitor.stderr).toContain('user: "fulfillment-center@acme.example" is a monitor user: monitors read, they do not snooze errors');
    const endless = await cli('errors', 'snooze', '--env', 'acme-production', '--user', 'owner@acme.example', String(id));
    expect(endless.stderr).toContain('until: say until when (until), for how long (for) or for how many more errors (events), one of them');
  });
});
