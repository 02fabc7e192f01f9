/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, saveScreenshot } from './helpers/browser.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startFixture } from './helpers/fixture.js';
import type { ReceivedMail } from './helpers/mail.js';
import { freePort } from './helpers/ports.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { applyCatalog } from '../catalog/catalog.js';
import { remindNowUpdate } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { startServer } from './helpers/server.js';

const artifacts = new URL('../test-artifacts/pages/', import.meta.url).pathname;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const minutes = (n: number) => n * 60_000;

describe('the pages the emails link to, in a browser', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { env, db, mail, herald } = await startFixture({
    // The watcher (a monitor) follows the orders flow too; another account has an error of its own.
    also: [
      {
        subscriptions: [{ environment: 'prod', user: 'watcher@acme.test', flows: ['orders'] }],
        accounts: [{ id: 'globex', name: 'Globex' }],
        environments: [{ id: 'globex-prod', account: 'globex', name: 'Production', production: true }],
        integrations: [{ id: 'globex-shop', environment: 'globex-prod', name: 'Shop' }],
        flows: [{ id: 'globex-orders', integration: 'globex-shop', name: 'Orders' }],
      },
    ],
    herald: { appUrl: base },
  });
  // The server as `npm run server` builds it: its pages act through a Herald client of its own.
  await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, smtpUrl: mail.url, port, appUrl: base });
  const browser = await launchBrowser();
  mkdirSync(artifacts, { recursive: true });

  // Errors in the orders flow (one with its record), one in Globex, and a digest cycle that announces them.
  await herald.client.reportErrors({
    environment: 'prod',
    flow: 'orders',
    reportId: 'pages-1',
    errors: [
      { errorKey: 'e-1', traceKey: 'SO-1001', message: 'Customer <C-42> not found in the ERP', code: 'NOT_FOUND', step: 'Create sales order', record: { order: 'SO-1001', customer: 'C-42', lines: [{ sku: 'A-1', qty: 2 }] } },
      { errorKey: 'e-2', traceKey: 'SO-1002', message: 'Price list missing for currency CHF', code: 'VALIDATION' },
    ],
  });
  await herald.client.reportErrors({ environment: 'globex-prod', flow: 'globex-orders', errors: [{ traceKey: 'G-1', message: 'Globex only' }] });
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: minutes(15) });
  await runCycleNow(herald.temporal, 'prod');
  const [digest] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
  const linksOf = (message: ReceivedMail) => [...String(message.parsed.html).matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'));
  const digestLinks = linksOf(digest!);
  const errorIdOf = async (traceKey: string) => (await db('errors').where({ trace_key: traceKey }).first('id'))!.id as number;

  /** What each page's browser said of the security policy: a page that breaks it logs a violation. */
  const policyViolations = new WeakMap<Page, string[]>();
  /** A page in a browser context of its own, whose console is watched for violations of the pages' policy. */
  const newPage = async (): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to (load|apply|execute|frame)/i.test(message.text())) violations.push(message.text());
    });
    policyViolations.set(page, violations);
    return page;
  };

  /** A browser context of its own, signed in as `email` by following `target` and the emailed link. */
  const signedIn = async (email: string, target: string): Promise<Page> => {
    const page = await newPage();
    await page.goto(target);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    const before = mail.to(email).length;
    await page.fill('input[name=email]', email);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-page=sign-in-sent]');
    const [message] = (await mail.waitFor(before + 1, { to: email })).slice(before);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/sign-in\/[A-Za-z0-9_-]{43})/.exec(message!.parsed.text!)![1]!;
    await page.goto(link);
    await page.click('main button[type=submit]');
    await page.waitForURL((url) => url.href === target);
    return page;
  };

  /** Screenshots at phone and desktop width, no horizontal overflow, and no serious accessibility violation. */
  const check = async (page: Page, name: string) => {
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await saveScreenshot(page, `${artifacts}${name}-${width}.png`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} at ${width} px overflows by ${overflow} px`).toBeLessThanOrEqual(0);
    }
    // Evaluated by the browser's debugging protocol: the pages' policy allows no script of their own.
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string }[] }> } }).axe.run();
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
    });
    expect(violations, name).toEqual([]);
    expect(policyViolations.get(page), `${name}: what the browser refused under the pages' Content-Security-Policy`).toEqual([]);
  };

  it('S21: an error row of a digest opens that error, after sign-in, with its record and where it came from', async () => {
    const id = await errorIdOf('SO-1001');
    const errorLink = digestLinks.find((href) => href.endsWith(`/environments/prod/errors/${id}`));
    expect(errorLink, digestLinks.join('\n')).toBeDefined();
    const page = await signedIn('orders-team@acme.test', errorLink!);
    expect(await page.textContent('h1')).toBe('SO-1001');
    expect(await page.textContent('[data-message]')).toBe('Customer <C-42> not found in the ERP');
    expect(JSON.parse((await page.textContent('[data-record]'))!)).toEqual({ order: 'SO-1001', customer: 'C-42', lines: [{ sku: 'A-1', qty: 2 }] });
    expect(await page.textContent('dl')).toMatch(/in digest 1, \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await check(page, 'error');
  });

  it('S21: "see all open errors" opens the open errors of the flows the user follows; a flow\'s link, that flow\'s', async () => {
    const openLink = digestLinks.find((href) => href.includes('/errors?status=open'));
    expect(openLink, digestLinks.join('\n')).toBeDefined();
    const page = await signedIn('orders-team@acme.test', openLink!);
    expect(await page.textContent('h1')).toBe('Errors of the flows you follow');
    // As the digest does, the page groups similar errors (S42, S48): each line with its latest message.
    expect(await page.$eval('select[name=grouped]', (select) => (select as HTMLSelectElement).value)).toBe('1');
    const groupLines = await page.$$eval('tr[data-error-group] [data-latest]', (cells) => cells.map((cell) => cell.textContent));
    expect(groupLines).toHaveLength(2);
    // One line per error, when asked.
    await page.goto(`${openLink!}&grouped=0`);
    const shown = await page.$$eval('tr[data-error] a', (links) => links.map((a) => a.textContent));
    expect(shown.sort()).toEqual(['SO-1001', 'SO-1002']);
    await check(page, 'errors');
    // At phone width the error itself keeps most of the row, readable.
    await page.setViewportSize({ width: 375, height: 900 });
    const widths = await page.$$eval('td[data-cell=error]', (cells) => cells.map((cell) => cell.getBoundingClientRect().width));
    expect(Math.min(...widths)).toBeGreaterThan(180);
    // By integration and by day: Billing has none of these; today holds both, yesterday neither.
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const shownFor = async (query: string) => {
      await page.goto(`${base}/environments/prod/errors?status=open&grouped=0&${query}`);
      return (await page.$$eval('tr[data-error] a', (links) => links.map((a) => a.textContent))).sort();
    };
    expect(await shownFor('integration=billing')).toEqual([]);
    expect(await shownFor('integration=shop&flow=orders')).toEqual(['SO-1001', 'SO-1002']);
    expect(await shownFor(`since=${today}&until=${today}&flow=orders`)).toEqual(['SO-1001', 'SO-1002']);
    expect(await shownFor(`until=${yesterday}&flow=orders`)).toEqual([]);
    const flowLink = digestLinks.find((href) => href.endsWith('/flows/orders/errors'))!;
    await page.goto(flowLink);
    expect(await page.$eval('select[name=flow]', (select) => (select as HTMLSelectElement).value)).toBe('orders');
  });

  it('S26: a user resolves an error from its page: recorded with their name, and the next digest tells who was told', async () => {
    const id = await errorIdOf('SO-1002');
    const page = await signedIn('orders-team@acme.test', `${base}/environments/prod/errors/${id}`);
    await page.getByRole('button', { name: 'Resolve this error' }).click();
    await page.waitForSelector('[data-status=resolved]');
    expect(await page.textContent('[data-resolved]')).toMatch(/^by orders-team@acme\.test, /);
    expect(await db('errors').where({ id }).first('status', 'resolved_by')).toEqual({ status: 'resolved', resolved_by: 'orders-team@acme.test' });
    mail.clear();
    await runCycleNow(herald.temporal, 'prod');
    const [next] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
    expect(String(next!.parsed.html)).toContain('SO-1002');
  });

  it('S26: many errors at once from the list', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-2001', message: 'Tax code missing' }, { traceKey: 'SO-2002', message: 'Tax code missing' }] });
    const page = await signedIn('ops@acme.test', `${base}/environments/prod/errors?status=open&grouped=0`);
    for (const traceKey of ['SO-2001', 'SO-2002']) await page.check(`input[name=ids][value="${await errorIdOf(traceKey)}"]`);
    await page.getByRole('button', { name: 'Resolve selected' }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[role=status]')).toBe('2 errors resolved.');
    expect(await db('errors').whereIn('trace_key', ['SO-2001', 'SO-2002']).pluck('resolved_by')).toEqual(['ops@acme.test', 'ops@acme.test']);
    // A second action from the page it came back to tells its own count, not the first one's.
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-2003', message: 'Tax code missing' }] });
    await page.reload();
    await page.check(`input[name=ids][value="${await errorIdOf('SO-2003')}"]`);
    await page.getByRole('button', { name: 'Resolve selected' }).click();
    await page.waitForURL((url) => url.searchParams.getAll('resolved').join() === '1');
    expect(await page.textContent('[role=status]')).toBe('1 error resolved.');
  });

  it('S32: a user assigns an error from its page; the assignee is emailed at once, and the page says who has it', async () => {
    const id = await errorIdOf('SO-1001');
    mail.clear();
    const page = await signedIn('ops@acme.test', `${base}/environments/prod/errors/${id}`);
    await page.selectOption('select[name=assignee]', 'orders-team@acme.test');
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.waitForURL(/assigned=1/);
    expect(await page.textContent('[data-assignee]')).toBe('to orders-team@acme.test');
    const [email] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
    expect(email!.parsed.subject).toBe('ops@acme.test assigned you 1 error in Acme flows');
    expect(linksOf(email!)).toContain(`${base}/environments/prod/errors/${id}`);
  });

  it('S46: a user snoozes an error from its page for a day: the page says until when and by whom, and the next digest leaves it out but counts it', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-4601', message: 'Pallet label unreadable' }, { traceKey: 'SO-4602', message: 'Dock door closed' }] });
    // A person of this test's own: it runs alone too (vitest -t), and sign-in is limited per address.
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'snoozer@acme.test', name: 'Snoozer', role: 'manage' }],
      subscriptions: [{ environment: 'prod', user: 'snoozer@acme.test', flows: ['orders'] }],
    });
    const id = await errorIdOf('SO-4601');
    const page = await signedIn('snoozer@acme.test', `${base}/environments/prod/errors/${id}`);
    await page.selectOption('select[name=for]', '1 day');
    await page.getByRole('button', { name: 'Snooze' }).click();
    await page.waitForSelector('[data-snoozed]');
    expect(await page.textContent('[data-snoozed]')).toMatch(/^until .+, by snoozer@acme\.test: left out of digests and reminders until then$/);
    mail.clear();
    await runCycleNow(herald.temporal, 'prod');
    const [next] = await mail.waitFor(1, { to: 'snoozer@acme.test' });
    expect(String(next!.parsed.html)).toContain('SO-4602');
    expect(String(next!.parsed.html)).not.toContain('SO-4601');
    expect(String(next!.parsed.text)).toMatch(/Open in total: \d+ \(1 snoozed\)/);
  });

  it('S46: a whole group is snoozed from its page: its errors, and one that joins the group after, are left out of the next digest and counted as snoozed', async () => {
    // A flow and a person of their own: the test runs alone too, and sign-in is limited per address.
    await applyCatalog(db, {
      flows: [{ id: 'pallets', integration: 'shop', name: 'Pallets' }],
      users: [{ account: 'acme', email: 'group-snoozer@acme.test', name: 'Group snoozer', role: 'manage' }],
      subscriptions: [{ environment: 'prod', user: 'group-snoozer@acme.test', flows: ['pallets'] }],
    });
    const similar = Array.from({ length: 3 }, (_, i) => ({ traceKey: `PL-${i}`, message: `Pallet ${8800 + i} too heavy for the dock` }));
    await herald.client.reportErrors({ environment: 'prod', flow: 'pallets', reportId: 'pages-group-snooze', errors: similar });
    const page = await signedIn('group-snoozer@acme.test', `${base}/environments/prod/errors?flow=pallets`);
    await page.locator('tr[data-error-group] a').first().click();
    await page.getByRole('button', { name: 'Snooze the group' }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[role=status]')).toBe('3 errors snoozed.');
    await herald.client.reportErrors({
      environment: 'prod',
      flow: 'pallets',
      reportId: 'pages-group-snooze-2',
      errors: [{ traceKey: 'PL-3', message: 'Pallet 8803 too heavy for the dock' }, { traceKey: 'PL-9', message: 'Dock scanner offline' }],
    });
    mail.clear();
    await runCycleNow(herald.temporal, 'prod');
    const [next] = await mail.waitFor(1, { to: 'group-snoozer@acme.test' });
    expect(String(next!.parsed.html)).toContain('PL-9');
    expect(String(next!.parsed.html)).not.toContain('too heavy');
    expect(String(next!.parsed.text)).toContain('Open in total: 5 (4 snoozed)');
  });

  it('S23, S26, S46: a monitor sees no resolve or snooze button, and a resolve posted anyway is refused: nothing changes', async () => {
    const id = await errorIdOf('SO-1001');
    const page = await signedIn('watcher@acme.test', `${base}/environments/prod/errors/${id}`);
    expect(await page.$('text=Resolve this error')).toBeNull();
    expect(await page.getByRole('button', { name: 'Snooze' }).count()).toBe(0);
    expect(await page.$('select[name=assignee]')).toBeNull();
    const csrf = await page.$eval('header input[name=_csrf]', (input) => (input as HTMLInputElement).value);
    const answer = await page.request.post(`${base}/environments/prod/errors/resolve`, { form: { _csrf: csrf, ids: String(id) } });
    expect(answer.status()).toBe(403);
    expect(await answer.text()).toContain('Monitor users read errors; they do not resolve them.');
    expect(await db('errors').where({ id }).first('status')).toEqual({ status: 'open' });
  });

  it('S23: another account\'s environment and error answer "not found", and cannot be resolved', async () => {
    const foreign = await errorIdOf('G-1');
    const page = await signedIn('ops@acme.test', `${base}/environments/prod/errors?status=open`);
    for (const path of [`/environments/globex-prod/errors`, `/environments/globex-prod/errors/${foreign}`, `/environments/prod/errors/${foreign}`]) {
      const response = await page.goto(`${base}${path}`);
      expect(response!.status(), path).toBe(404);
      expect(await page.content()).not.toContain('Globex only');
    }
    const csrf = await page.$eval('header input[name=_csrf]', (input) => (input as HTMLInputElement).value);
    const answer = await page.request.post(`${base}/environments/prod/errors/resolve`, { form: { _csrf: csrf, ids: String(foreign) } });
    expect(answer.status()).toBe(404);
    expect(await db('errors').where({ id: foreign }).first('status')).toEqual({ status: 'open' });
  });

  it('S21: the connection button of a connection email opens the connection: status, reason, history, flows using it', async () => {
    mail.clear();
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ECONNREFUSED 10.0.0.7:443' });
    await env.sleep(minutes(2));
    const [email] = await mail.waitFor(1, { to: 'ops@acme.test' });
    const connectionLink = linksOf(email!).find((href) => href.endsWith('/environments/prod/connections/erp'))!;
    expect(connectionLink).toBeDefined();
    const page = await signedIn('ops@acme.test', connectionLink);
    expect(await page.textContent('h1')).toBe('ERP API');
    expect(await page.textContent('[data-status]')).toBe('offline');
    expect(await page.textContent('main')).toContain('ECONNREFUSED 10.0.0.7:443');
    expect(await page.textContent('main')).toContain('Shop to ERP: Customers, Orders');
    await check(page, 'connection');
    // Back online: the digests of the next tests list errors one by one again (S30).
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await env.sleep(minutes(1));
  });

  it('S24, S21: the settings link opens the user\'s settings; what they save, the next digest follows', async () => {
    const settingsLink = digestLinks.find((href) => href.endsWith('/environments/prod/notifications'))!;
    expect(settingsLink).toBeDefined();
    const page = await signedIn('orders-team@acme.test', settingsLink);
    expect(await page.isChecked('input[name=flows][value=orders]')).toBe(true);
    expect(await page.isChecked('input[name=integrations][value=billing]')).toBe(false);
    await check(page, 'settings');
    await page.uncheck('input[name=flows][value=orders]');
    await page.check('input[name=integrations][value=billing]');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.isChecked('input[name=integrations][value=billing]')).toBe(true);

    mail.clear();
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-24', message: 'Tax code missing' }] });
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-24', message: 'Customer not found' }] });
    await runCycleNow(herald.temporal, 'prod');
    const [next] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
    expect(String(next!.parsed.html)).toContain('INV-24');
    expect(String(next!.parsed.html)).not.toContain('SO-24');
  });

  it('S24: an admin sets a user\'s subscriptions; a monitor opens only their own; a catalog leaves a chosen setting alone, and says so', async () => {
    const watcher = (await db('users').where({ email: 'watcher@acme.test' }).first('id'))!.id as number;
    const ops = (await db('users').where({ email: 'ops@acme.test' }).first('id'))!.id as number;
    const admin = await signedIn('ops@acme.test', `${base}/environments/prod/notifications`);
    await admin.selectOption('select[name=user]', String(watcher));
    await admin.getByRole('button', { name: 'Open', exact: true }).click();
    expect(await admin.textContent('[data-user]')).toBe('watcher@acme.test');
    await admin.check('input[name=connections][value=erp]');
    await admin.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.waitForSelector('[role=status]');
    expect(await db('subscriptions').where({ user_id: watcher, environment_id: 'prod' }).whereNotNull('connection_id').pluck('connection_id')).toEqual(['erp']);
    expect(await db('subscription_choices').where({ user_id: watcher }).first('chosen_by')).toEqual({ chosen_by: ops });

    const monitor = await signedIn('watcher@acme.test', `${base}/environments/prod/notifications`);
    expect((await monitor.goto(`${base}/environments/prod/notifications?user=${ops}`))!.status()).toBe(404);

    const changes = await applyCatalog(db, { subscriptions: [{ environment: 'prod', user: 'watcher@acme.test', flows: ['customers'] }] });
    expect(changes).toMatchObject({ 'subscriptions kept as chosen in settings': 1 });
    expect(await db('subscriptions').where({ user_id: watcher, environment_id: 'prod' }).whereNotNull('flow_id').pluck('flow_id')).toEqual(['orders']);

    // S40: the admin sees who changed what in the account; a monitor does not.
    await admin.goto(`${base}/`);
    await admin.getByRole('link', { name: 'Changes to Acme' }).click();
    const latest = admin.locator('[data-event]').first();
    expect(await latest.locator('[data-actor]').textContent()).toBe('ops@acme.test');
    expect(await latest.locator('[data-what]').textContent()).toBe('chose subscriptions prod/watcher@acme.test');
    expect((await monitor.goto(`${base}/account/changes`))!.status()).toBe(404);
  });

  /** The unsubscribe link of an email: its List-Unsubscribe header, which the footer links to too. */
  const unsubscribeOf = (message: ReceivedMail) => {
    const headers = message.raw.slice(0, message.raw.search(/\r?\n\r?\n/)).replace(/\r?\n(?=[ \t])/g, ''); // unfolded (RFC 5322)
    expect(headers).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    const url = /^List-Unsubscribe:\s*<([^>]+)>$/m.exec(headers)![1]!;
    expect(linksOf(message)).toContain(url);
    expect(message.parsed.text).toContain(url);
    return url;
  };
  const followed = async (email: string, environment: string) => {
    const user = (await db('users').where({ email }).first('id'))!.id as number;
    return (await db('subscriptions').where({ user_id: user, environment_id: environment }).select('flow_id', 'integration_id', 'connection_id'))
      .map((row) => row.flow_id ?? row.integration_id ?? `connection:${row.connection_id}`)
      .sort();
  };

  it('S25: one POST to the link of a digest\'s List-Unsubscribe ends that environment\'s error emails, and nothing else; a GET only asks', async () => {
    // People of this test's own, followed as the world's admin is: other tests change what the world's people follow.
    await applyCatalog(db, {
      users: [
        { account: 'acme', email: 'leaver@acme.test', name: 'Leaver', role: 'manage' },
        { account: 'acme', email: 'bystander@acme.test', name: 'Bystander', role: 'monitor' },
      ],
      subscriptions: [
        { environment: 'prod', user: 'leaver@acme.test', integrations: ['shop', 'billing'], connections: ['erp'] },
        { environment: 'staging', user: 'leaver@acme.test', integrations: ['staging-shop'], connections: ['staging-erp'] },
        { environment: 'prod', user: 'bystander@acme.test', flows: ['orders'], connections: ['erp'] },
      ],
    });
    mail.clear();
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-25', message: 'Tax code missing' }] });
    await runCycleNow(herald.temporal, 'prod');
    const [digestToLeaver] = await mail.waitFor(1, { to: 'leaver@acme.test' });
    const url = unsubscribeOf(digestToLeaver!);
    expect(await followed('leaver@acme.test', 'prod')).toEqual(['billing', 'connection:erp', 'shop']);

    // A mail scanner's GET changes nothing; the page asks.
    const asked = await fetch(url);
    expect(await asked.text()).toContain('Stop sending leaver@acme.test error emails of Production?');
    expect(await followed('leaver@acme.test', 'prod')).toEqual(['billing', 'connection:erp', 'shop']);

    // Altered, or turned to another user: nothing changes.
    const [payload, signature] = new URL(url).pathname.split('/').at(-1)!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { u: number };
    const bystander = (await db('users').where({ email: 'bystander@acme.test' }).first('id'))!.id as number;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, u: bystander })).toString('base64url')}.${signature}`;
    for (const bad of [`${url}x`, url.replace(/\/unsubscribe\/.*/, `/unsubscribe/${forged}`)]) {
      const answer = await fetch(bad, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(answer.status).toBe(400);
    }
    expect(await followed('bystander@acme.test', 'prod')).toEqual(['connection:erp', 'orders']);

    // One click, as a mail client does it (RFC 8058): no session, no page.
    const clicked = await fetch(url, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(clicked.status).toBe(200);
    expect(await clicked.text()).toContain('leaver@acme.test gets no more error emails of Production.');
    expect(await followed('leaver@acme.test', 'prod')).toEqual(['connection:erp']);
    expect(await followed('leaver@acme.test', 'staging')).toEqual(['connection:staging-erp', 'staging-shop']);

    mail.clear();
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-26', message: 'Tax code missing' }] });
    // The cycle has sent all its emails when its run-now answers: none went to the leaver.
    const cycle = await runCycleNow(herald.temporal, 'prod');
    expect(await db('notifications').whereNull('channel_id').where({ cycle_id: db('digest_cycles').where({ environment_id: 'prod', number: cycle.number }).select('id'), recipient: 'leaver@acme.test' })).toEqual([]);
    expect(mail.to('leaver@acme.test')).toHaveLength(0);
    // A catalog does not bring it back: the choice is the user's.
    await applyCatalog(db, { subscriptions: [{ environment: 'prod', user: 'leaver@acme.test', integrations: ['shop', 'billing'], connections: ['erp'] }] });
    expect(await followed('leaver@acme.test', 'prod')).toEqual(['connection:erp']);
  });

  it('S25: the unsubscribe link of a connection email ends that connection\'s emails only; the footer link leads to the same page', async () => {
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'connection-leaver@acme.test', name: 'Connection leaver', role: 'monitor' }],
      subscriptions: [{ environment: 'prod', user: 'connection-leaver@acme.test', flows: ['orders'], connections: ['erp'] }],
    });
    mail.clear();
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'maintenance' });
    await env.sleep(minutes(2));
    const [email] = await mail.waitFor(1, { to: 'connection-leaver@acme.test' });
    const url = unsubscribeOf(email!);
    const page = await newPage();
    await page.goto(url);
    expect(await page.textContent('main')).toContain('Stop sending connection-leaver@acme.test emails about ERP API in Production?');
    // Signed out, the header offers no environment's links.
    expect(await page.$$eval('header a', (links) => links.map((a) => a.getAttribute('href')))).toEqual(['/']);
    await check(page, 'unsubscribe');
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.waitForSelector('[data-done]');
    expect(await followed('connection-leaver@acme.test', 'prod')).toEqual(['orders']);
  });

  it('S27: "My emails" lists every email sent, a refused one with the server\'s answer, and says why a cycle sent none; an email opens as it was sent', async () => {
    // A reader of this test's own, following the invoices flow: a digest sent, an assignment, a digest refused.
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'reader@acme.test', name: 'Reader', role: 'manage' }],
      subscriptions: [{ environment: 'prod', user: 'reader@acme.test', flows: ['invoices'] }],
    });
    // The ERP connection online (S25 took it offline): errors behind an offline connection are folded, not listed.
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await env.sleep(minutes(2));
    mail.clear();
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-27A', message: 'Rounding differs from the ERP' }] });
    await runCycleNow(herald.temporal, 'prod');
    await mail.waitFor(1, { to: 'reader@acme.test' });
    await herald.client.assignErrors({ environment: 'prod', errorIds: [await errorIdOf('INV-27A')], assignee: 'reader@acme.test', user: 'ops@acme.test' });
    await mail.waitFor(2, { to: 'reader@acme.test' });
    mail.refuseRecipient('reader@acme.test');
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-27', message: 'Tax code missing' }] });
    await runCycleNow(herald.temporal, 'prod'); // refused
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-27', message: 'Customer not found' }] });
    await runCycleNow(herald.temporal, 'prod'); // nothing in the flows the reader follows
    await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: minutes(15) });
    await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'ST-27', message: 'Sandbox failure' }] });
    await runCycleNow(herald.temporal, 'staging'); // the reader follows nothing in staging
    await runCycleNow(herald.temporal, 'staging'); // nor in the next cycle: one line says so for both
    mail.accept('reader@acme.test');

    const page = await signedIn('reader@acme.test', `${base}/emails`);
    const lines = await page.$$eval('tr[data-line]', (rows) => rows.map((row) => row.textContent!.replace(/\s+/g, ' ').trim()));
    expect(lines[0]).toMatch(/Digests 1–2 of Staging: no email in 2 cycles You followed no flow of Staging then\./);
    expect(lines.filter((line) => /of Staging: no email/.test(line))).toHaveLength(1);
    expect(lines[1]).toMatch(/Digest \d+ of Production: no email Nothing was new or resolved in the flows you followed\./);
    expect(lines[2]).toMatch(/1 new error in Acme flows .*refused by the mail server: .*550/);
    // Then the assignment and the first digest, both sent; nothing else went to the reader.
    expect(lines.slice(3).map((line) => / sent \d{4}-/.test(line))).toEqual([true, true]);
    await check(page, 'emails');

    // The first digest, opened again: the invoices error it announced.
    const sent = await db('notifications as d').whereNull('d.channel_id').join('errors as e', 'e.notified_cycle_id', 'd.cycle_id')
      .where({ 'd.recipient': 'reader@acme.test', 'd.status': 'sent', 'e.trace_key': 'INV-27A' }).first('d.id');
    const opened = await page.goto(`${base}/emails/${sent!.id}`);
    expect(opened!.headers()['content-security-policy']).toMatch(/^sandbox/);
    expect(await page.content()).toContain('INV-27A');
    // Nobody else's email opens.
    const other = await db('notifications').whereNull('channel_id').whereNot({ recipient: 'reader@acme.test' }).first('id');
    expect((await page.goto(`${base}/emails/${other!.id}`))!.status()).toBe(404);

    // Assignment (S32) and reminder (S31) emails are listed and open too.
    expect(lines.filter((line) => /ops@acme\.test assigned you 1 error in Acme flows .* sent \d{4}-/.test(line))).toHaveLength(1);
    const assignment = await db('notifications').whereNull('channel_id').where({ recipient: 'reader@acme.test', kind: 'assignment' }).first('id');
    await page.goto(`${base}/emails/${assignment!.id}`);
    expect(await page.content()).toContain('assigned you');
    await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '1 minute' }] });
    await env.sleep(minutes(2));
    const before = mail.to('reader@acme.test').length;
    await herald.temporal.workflow.getHandle(environmentDigestWorkflowId('prod')).executeUpdate(remindNowUpdate);
    await mail.waitFor(before + 1, { to: 'reader@acme.test', timeoutMs: 10_000 });
    await page.goto(`${base}/emails`);
    const newest = (await page.textContent('tr[data-line]'))!.replace(/\s+/g, ' ');
    expect(newest).toMatch(/errors? still open in Acme flows .*sent \d{4}-/);
    const reminder = await db('notifications').whereNull('channel_id').where({ recipient: 'reader@acme.test', kind: 'reminder' }).first('id');
    await page.goto(`${base}/emails/${reminder!.id}`);
    expect(await page.content()).toContain('Open for more than 1 minute');
  });
  it('S42: a digest\'s group line opens the group; a whole group is assigned and resolved at once; the errors page groups the same way', async () => {
    const similar = Array.from({ length: 7 }, (_, i) => ({ traceKey: `SO-70${i}`, message: `Customer ${4200 + i} not found in ERP`, code: 'NOT_FOUND' }));
    // A flow and a person of their own: earlier tests took the ERP connection offline (its flows'
    // errors fold into one line, S30) and unsubscribed or changed the others.
    await applyCatalog(db, {
      flows: [{ id: 'returns', integration: 'shop', name: 'Returns' }],
      users: [{ account: 'acme', email: 'grouper@acme.test', name: 'Grouper', role: 'manage' }],
      subscriptions: [{ environment: 'prod', user: 'grouper@acme.test', flows: ['returns'] }],
    });
    await herald.client.reportErrors({ environment: 'prod', flow: 'returns', reportId: 'pages-group', errors: [...similar, { traceKey: 'SO-799', message: 'Carrier rejected the parcel' }] });
    mail.clear();
    await runCycleNow(herald.temporal, 'prod');
    const [next] = await mail.waitFor(1, { to: 'grouper@acme.test' });
    const groupLink = linksOf(next!).find((href) => href.includes('group='));
    expect(groupLink, linksOf(next!).join('\n')).toBeDefined();
    const page = await signedIn('grouper@acme.test', groupLink!);
    expect(await page.textContent('[data-group] h2')).toBe('7 × Customer ‹id› not found in ERP');
    expect((await page.$$eval('tr[data-error] a', (links) => links.map((a) => a.textContent))).sort()).toEqual(similar.map((e) => e.traceKey).sort());
    await check(page, 'error-group');
    await page.selectOption('#group-assignee', 'ops@acme.test');
    await page.getByRole('button', { name: 'Assign' }).first().click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[role=status]')).toBe('7 errors assigned.');
    await page.getByRole('button', { name: "Resolve the group's 7 open errors" }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[role=status]')).toBe('7 errors resolved.');
    const rows = await db('errors').whereIn('trace_key', [...similar.map((e) => e.traceKey), 'SO-799']).orderBy('trace_key').select('trace_key', 'status', 'resolved_by');
    expect(rows.filter((row) => row.status === 'resolved' && row.resolved_by === 'grouper@acme.test').map((row) => row.trace_key)).toEqual(similar.map((e) => e.traceKey).sort());
    expect(rows.find((row) => row.trace_key === 'SO-799')).toMatchObject({ status: 'open' });
    // Grouped, the errors page shows the group as one line, and the other error as a group of its own.
    await page.goto(`${base}/environments/prod/errors?flow=returns&grouped=1&since=${new Date().toISOString().slice(0, 10)}`);
    const lines = await page.$$eval('tr[data-error-group] a', (links) => links.map((a) => a.textContent));
    expect(lines).toEqual(expect.arrayContaining(['7 × Customer ‹id› not found in ERP', '1 × Carrier rejected the parcel']));
    await check(page, 'errors-grouped');
  });

  it('S41, S47: a person chooses on the settings page when digests come, in their time zone, with quiet hours, and their weekly review; a wrong time zone is named; a catalog leaves the choices alone', async () => {
    // A person of this test's own: it runs alone too (vitest -t), and sign-in is limited per address.
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'rhythms@acme.test', name: 'Rhythms', role: 'manage' }],
      subscriptions: [{ environment: 'prod', user: 'rhythms@acme.test', flows: ['orders'] }],
    });
    const page = await signedIn('rhythms@acme.test', `${base}/environments/prod/notifications`);
    expect(await page.textContent('[data-rhythm]')).toBe('every digest cycle');
    await page.check('input[name=every][value=day]');
    await page.fill('#rhythm-at', '07:30');
    await page.fill('#rhythm-zone', 'America/New_York');
    await page.check('input[name=quiet]');
    await page.fill('#quiet-from', '21:00');
    await page.fill('#quiet-to', '06:30');
    await page.uncheck('input[name=quietConnectionEmails]');
    await page.getByRole('button', { name: 'Save when digests come' }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[data-rhythm]')).toBe('daily at 07:30 (America/New_York), quiet 21:00–06:30');
    await check(page, 'settings-rhythm');
    const person = (await db('users').where({ email: 'rhythms@acme.test' }).first('id'))!.id as number;
    expect(await db('digest_rhythms').where({ user_id: person, environment_id: 'prod' }).first('every', 'at', 'time_zone', 'quiet_from', 'quiet_to', 'quiet_connection_emails', 'chosen_on_page')).toEqual({
      every: 'day', at: '07:30', time_zone: 'America/New_York', quiet_from: '21:00', quiet_to: '06:30', quiet_connection_emails: false, chosen_on_page: true,
    });

    // A zone that is not an IANA one is refused, by name, and nothing changes.
    await page.fill('#rhythm-zone', 'Mars/Olympus_Mons');
    await page.getByRole('button', { name: 'Save when digests come' }).click();
    expect(await page.textContent('main')).toContain('must be an IANA time zone');
    expect((await db('digest_rhythms').where({ user_id: person }).first('time_zone'))!.time_zone).toBe('America/New_York');

    // The weekly review (S47): off for a manager until they turn it on, in the time zone of their digests.
    await page.goto(`${base}/environments/prod/notifications`);
    expect(await page.textContent('[data-weekly-review]')).toBe('off');
    await page.check('input[name=on]');
    await page.selectOption('#weekly-day', 'friday');
    await page.fill('#weekly-at', '16:30');
    await page.getByRole('button', { name: 'Save the weekly review' }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[data-weekly-review]')).toBe('Fridays at 16:30 (America/New_York)');
    expect(await page.textContent('[role=status]')).toBe('Saved. The weekly review: Fridays at 16:30 (America/New_York).');
    await check(page, 'settings-weekly-review');
    expect(await db('weekly_reviews').where({ user_id: person, environment_id: 'prod' }).first('on', 'day', 'at', 'chosen_on_page')).toEqual({ on: true, day: 5, at: '16:30', chosen_on_page: true });

    const changes = await applyCatalog(db, { subscriptions: [{ environment: 'prod', user: 'rhythms@acme.test', flows: ['orders'], rhythm: { every: 'hour' }, weeklyReview: null }] });
    expect(changes).toMatchObject({ 'rhythms kept as chosen in settings': 1, 'weekly reviews kept as chosen in settings': 1 });
    expect((await db('digest_rhythms').where({ user_id: person }).first('every'))!.every).toBe('day');
    expect((await db('weekly_reviews').where({ user_id: person }).first('on'))!.on).toBe(true);
  });

  it('S43: an admin adds channels on the account page (a webhook\'s secret shown once, a private address refused), sends their subscriptions to one on the settings page, and sees what was posted', async () => {
    // An admin of their own (sign-in is limited per address, and ops@ signed in often above).
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'channels-admin@acme.test', name: 'Channels admin', role: 'admin' }],
      subscriptions: [{ environment: 'prod', user: 'channels-admin@acme.test', flows: ['orders'] }],
    });
    const page = await signedIn('channels-admin@acme.test', `${base}/account/channels`);
    await page.fill('#channel-name', 'team-hook');
    await page.selectOption('#channel-kind', 'webhook');
    // A name that never resolves (RFC 6761): the message is refused for now, as a receiver that is down.
    await page.fill('#channel-url', 'https://hooks.herald.invalid/herald');
    await page.getByRole('button', { name: 'Save channel' }).click();
    expect(await page.textContent('[data-secret]')).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(await page.textContent('tr[data-channel=team-hook]')).toContain('hooks.herald.invalid');
    await check(page, 'channels');
    await page.goto(`${base}/account/channels`);
    expect(await page.$('[data-secret]')).toBeNull();
    await page.fill('#channel-name', 'inside');
    await page.fill('#channel-url', 'https://10.0.0.7/hook');
    await page.getByRole('button', { name: 'Save channel' }).click();
    expect(await page.textContent('main')).toContain('must not point at a private, loopback or reserved address (10.0.0.7)');

    await page.goto(`${base}/environments/prod/notifications`);
    await page.selectOption('#target-channel', 'team-hook');
    await page.getByRole('button', { name: 'Save where they go' }).click();
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[data-target-channel]')).toBe('team-hook');
    await check(page, 'settings-target');

    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-HOOK', message: 'Posted to a channel' }] });
    await runCycleNow(herald.temporal, 'prod');
    await page.goto(`${base}/account/messages`);
    expect(await page.textContent("tr[data-status=pending]")).toMatch(/digest of Production to team-hook.*Refused for now \(ENOTFOUND/s);
    await check(page, 'messages');
    // Their own list says it too, as they read it: what went where their subscriptions go.
    await page.goto(`${base}/emails`);
    const [post] = await page.locator('tr[data-line^="post-"]').allInnerTexts();
    expect(post).toMatch(/Digest \d+ of Production, posted to team-hook \(Signed webhook\)\s+refused for now \(ENOTFOUND[^)]*\); tried again \d{4}-\d\d-\d\d/);

    // Removed: its message is cancelled, and the admin's subscriptions go to email again.
    await page.goto(`${base}/account/channels`);
    await page.getByRole('button', { name: 'Remove team-hook' }).click();
    expect(await page.textContent('main')).not.toContain('team-hook');
    expect(await db('subscription_targets').whereNotNull('channel_id')).toEqual([]);
    expect(await db('notifications as m').join('channels as c', 'c.id', 'm.channel_id').where('c.name', 'team-hook').pluck('m.status')).toEqual(['cancelled']);
    const watcher = await signedIn('watcher@acme.test', `${base}/`);
    expect((await watcher.goto(`${base}/account/channels`))!.status()).toBe(404);
  });
});
