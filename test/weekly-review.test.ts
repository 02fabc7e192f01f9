/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
/**
 * The weekly review (S47) on the real stack: the time-skipping server, PostgreSQL, the mail
 * server, Herald's worker and digest. An owner in Berlin gets it by default on Mondays at 08:00;
 * a manager in New York chose Fridays at 17:00; an admin in quiet hours until 09:00 gets it when
 * they end; an admin who turned it off and a monitor who never turned it on get none. The errors
 * are stored at hand-picked times of the weeks before, and each review's figures are counted by
 * hand for its reader's week.
 */
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { mkdirSync } from 'node:fs';
import { startFixture } from './helpers/fixture.js';
import { startDigest } from './helpers/digests.js';
import { startServer } from './helpers/server.js';
import { launchBrowser, saveScreenshot } from './helpers/browser.js';
import type { ReceivedMail } from './helpers/mail.js';
import { applyCatalog } from '../catalog/catalog.js';
import { errorFingerprint } from '../stores/fingerprint.js';
import { createSettingsStore } from '../stores/settings-store.js';
import { createPageStore } from '../stores/page-store.js';
import { emailPageLines } from '../server/routes/emails.js';

const artifacts = new URL('../test-artifacts/weekly-review/', import.meta.url).pathname;
const minutes = (n: number) => n * 60_000;
const people = {
  owner: 'owner@weekly.test',
  newYork: 'new-york@weekly.test',
  quiet: 'quiet@weekly.test',
  optedOut: 'opted-out@weekly.test',
  monitor: 'monitor@weekly.test',
};

describe('S47: the weekly review', async () => {
  const { env, db, mail, herald } = await startFixture({
    also: [
      {
        users: [
          { account: 'acme', email: people.owner, name: 'Owner', role: 'owner' as const },
          { account: 'acme', email: people.newYork, name: 'New York', role: 'manage' as const },
          { account: 'acme', email: people.quiet, name: 'Quiet', role: 'admin' as const },
          { account: 'acme', email: people.optedOut, name: 'Opted out', role: 'admin' as const },
          { account: 'acme', email: people.monitor, name: 'Monitor', role: 'monitor' as const },
        ],
        // Not production: the subject names it. No one follows its flows, so nothing but reviews is sent.
        environments: [{ id: 'weekly', account: 'acme', name: 'Weekly', production: false }],
        integrations: [{ id: 'weekly-shop', environment: 'weekly', name: 'Shop' }],
        connections: [{ id: 'weekly-api', environment: 'weekly', name: 'Warehouse API' }],
        flows: [
          { id: 'weekly-orders', integration: 'weekly-shop', name: 'Orders' },
          { id: 'weekly-invoices', integration: 'weekly-shop', name: 'Invoices' },
        ],
        subscriptions: [
          { environment: 'weekly', user: people.owner, rhythm: { every: 'cycle', timeZone: 'Europe/Berlin' } },
          { environment: 'weekly', user: people.newYork, rhythm: { every: 'cycle', timeZone: 'America/New_York' }, weeklyReview: { on: true, day: 'friday', at: '17:00' } },
          { environment: 'weekly', user: people.quiet, rhythm: { every: 'cycle', timeZone: 'Europe/Berlin', quietHours: { from: '07:00', to: '09:00' } } },
          { environment: 'weekly', user: people.optedOut, weeklyReview: { on: false } },
        ],
      },
    ],
  });
  const server = await startServer({ db });
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'weekly', intervalMs: minutes(15) });
  const now = async () => DateTime.fromMillis(await env.currentTimeMs(), { zone: 'UTC' });
  const sleepTo = async (time: DateTime) => {
    const wait = time.toMillis() - (await now()).toMillis();
    if (wait > 0) await env.sleep(wait);
  };

  // New York's first review comes on the first Friday from now, at 17:00 there; the owner's on the Monday after it (D).
  const today = (await now()).setZone('America/New_York').startOf('day');
  const friday = today.plus({ days: ((5 - today.weekday + 7) % 7) || 7 }).set({ hour: 17 });
  const monday = friday.setZone('Europe/Berlin', { keepLocalTime: true }).startOf('day').plus({ days: 3 });
  const berlin = (dayOffset: number, hour: number, minute = 0) => monday.plus({ days: dayOffset }).set({ hour, minute });

  let key = 0;
  /** An error as the stores write it, at a hand-picked time; the database's triggers count it. */
  const store = async (flow: string, message: string, reportedAt: DateTime, resolvedAt?: DateTime) => {
    key += 1;
    const [row] = await db('errors')
      .insert({
        environment_id: 'weekly', flow_id: flow, report_id: 'weekly-fixture', error_key: `w-${key}`, trace_key: `W-${key}`, message,
        fingerprint: errorFingerprint(message), status: 'open', occurred_at: reportedAt.toJSDate(), reported_at: reportedAt.toJSDate(),
      })
      .returning('id');
    if (resolvedAt) await db('errors').where({ id: row.id }).update({ status: 'resolved', resolved_by: 'ops@acme.test', resolved_at: resolvedAt.toJSDate(), resolution_reason: 'resolved by user' });
  };
  // Hand-counted, by Berlin's days (D is the Monday it comes):
  // the week (D-7 … D-1): 4 orders errors (Mon 09:00 resolved at 09:30; Wed 12:00 resolved Fri 12:00; Sat 10:00 and
  //   Sun 23:30, alike: "Customer C-… not found"), 1 invoices error (Thu 08:00);
  // the week before: 2 invoices errors (Fri 10:00 resolved at 13:00; Sat 10:00 resolved at 10:03), 1 orders error (Wed, still open);
  // Monday D at 00:30, after the week: 1 orders error.
  await store('weekly-orders', 'Price list missing', berlin(-7, 9), berlin(-7, 9, 30));
  await store('weekly-orders', 'Credit hold', berlin(-5, 12), berlin(-3, 12));
  await store('weekly-orders', 'Customer C-1001 not found', berlin(-2, 10));
  await store('weekly-orders', 'Customer C-1002 not found', berlin(-1, 23, 30));
  await store('weekly-invoices', 'Tax code unknown', berlin(-4, 8));
  await store('weekly-invoices', 'Invoice number taken', berlin(-10, 10), berlin(-10, 13));
  await store('weekly-invoices', 'Ledger closed', berlin(-9, 10), berlin(-9, 10, 3));
  await store('weekly-orders', 'Warehouse closed', berlin(-12, 10));
  await store('weekly-orders', 'Carrier refused the parcel', berlin(0, 0, 30));
  // The Warehouse API was offline for three hours on the Friday.
  await db('connection_events').insert([
    { connection_id: 'weekly-api', sequence: 1, status: 'offline', reason: 'timeout', changed_at: berlin(-3, 10).toJSDate() },
    { connection_id: 'weekly-api', sequence: 2, status: 'online', reason: null, changed_at: berlin(-3, 13).toJSDate() },
  ]);

  const reviews = async () =>
    (
      await db('notifications as d').whereNull('d.channel_id').join('users as u', 'u.id', 'd.user_id').where({ 'd.kind': 'weekly', 'd.environment_id': 'weekly' }).orderBy('d.id').select('u.email', 'd.planned_at', 'd.status')
    ).map((row) => ({ email: row.email as string, plannedAt: DateTime.fromJSDate(row.planned_at as Date), status: row.status as string }));
  /** The visible words of an email's HTML, as its reader sees them at 375 px, with its bars' heights; a screenshot kept. */
  const read = async (message: ReceivedMail, shot: string) => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 375, height: 900 } });
      await page.setContent(String(message.parsed.html), { waitUntil: 'load' });
      mkdirSync(artifacts, { recursive: true });
      await saveScreenshot(page, `${artifacts}${shot}`);
      return await page.evaluate(() => ({
        text: document.body.innerText.replace(/[ \t]+/g, ' ').replace(/\n\s*\n/g, '\n').trim(),
        bars: Array.from(document.querySelectorAll('[data-trend] td[bgcolor]')).map((cell) => Math.round((cell as HTMLElement).getBoundingClientRect().height)),
        days: Array.from(document.querySelectorAll('[data-trend] td[data-day]')).map((cell) => (cell as HTMLElement).innerText.replace(/\s+/g, ' ')),
        overflow: document.documentElement.scrollWidth - window.innerWidth,
      }));
    } finally {
      await browser.close();
    }
  };

  it('S47: New York\'s review comes on Friday at 17:00 there, with its own week counted exactly; no one else\'s comes then', async () => {
    await sleepTo(friday.plus({ minutes: 20 }));
    const [message] = await mail.waitFor(1, { to: people.newYork });
    const planned = await reviews();
    expect(planned.map((r) => r.email)).toEqual([people.newYork]);
    expect(planned[0]!.plannedAt.toMillis()).toBeGreaterThanOrEqual(friday.toMillis());
    expect(planned[0]!.plannedAt.toMillis()).toBeLessThanOrEqual(friday.plus({ minutes: 15 }).toMillis());
    // Its week is New York's Friday to Thursday: the two invoices errors of the Friday and Saturday before, the orders errors
    // of Monday and Wednesday and the invoices one of Thursday (Berlin's 08:00 is 02:00 there); resolved in it: the first three.
    expect(message!.parsed.subject).toBe('[Weekly] Your week in Acme flows: 5 new errors, 3 resolved');
    const { text, overflow } = await read(message!, 'weekly-review-new-york-375.png');
    expect(text).toContain('5 new errors and 3 resolved (the week before: 1 new, 0 resolved); 3 open at the end of the week.');
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('S47: the owner\'s review comes on Monday at 08:00 in Berlin: its days, what rose, time to resolve, downtime and the errors open for more than a week, counted by hand, as read at 375 px and in the text', async () => {
    await sleepTo(berlin(0, 8, 20));
    const [message] = await mail.waitFor(1, { to: people.owner });
    const owners = (await reviews()).filter((r) => r.email === people.owner);
    expect(owners).toHaveLength(1);
    expect(owners[0]!.plannedAt.toMillis()).toBeGreaterThanOrEqual(berlin(0, 8).toMillis());
    expect(owners[0]!.plannedAt.toMillis()).toBeLessThanOrEqual(berlin(0, 8, 15).toMillis());
    expect(message!.parsed.subject).toBe('[Weekly] Your week in Acme flows: 5 new errors, 2 resolved');

    const { text, bars, days, overflow } = await read(message!, 'weekly-review-375.png');
    const day = (offset: number) => berlin(offset, 0).toFormat('ccc d LLL');
    expect(text).toContain(`Your week: ${day(-7)} – ${day(-1)}`);
    expect(text).toContain('5 new errors and 2 resolved (the week before: 3 new, 2 resolved); 4 open at the end of the week.');
    // One bar a day, Monday to Sunday: 1, 0, 1, 1, 0, 1, 1 (Sunday's 23:30 is Sunday's, not Monday's).
    expect(bars).toEqual([48, 1, 48, 48, 1, 48, 48]);
    const labels = [-7, -6, -5, -4, -3, -2, -1].map((offset) => berlin(offset, 0).toFormat('ccc d'));
    expect(days).toEqual(labels.map((label, i) => `${label} ${[1, 0, 1, 1, 0, 1, 1][i]}`));
    // Orders rose from 1 to 4; invoices fell from 2 to 1 and is not named. The alike customers errors are a group of 2 that rose from none.
    expect(text).toContain('Orders: 4 errors, 1 the week before (+300 %)');
    expect(text).not.toMatch(/^Invoices: /m);
    expect(text).toMatch(/Customer C-\S+ not found in Orders: 2 errors, 0 the week before \(new this week\)\nfor example: Customer C-1002 not found/);
    // Groups are counted by UTC day (their rollup's): Monday's 00:30 in Berlin is Sunday in UTC, so the group of the error
    // after the week is one of the week's; the week's totals and its flows, counted by the hour, leave it out.
    expect(text).toContain('Carrier refused the parcel in Orders: 1 error, 0 the week before (new this week)');
    expect(text).toContain('Resolved this week: half within an hour, 9 in 10 within 3 days (of 2 resolved); the week before: half within 5 minutes, 9 in 10 within 4 hours (of 2 resolved).');
    expect(text).toContain('Warehouse API: offline once, 3 hours in all');
    expect(text).toContain('1 error has been open for more than a week:\nWarehouse closed');
    expect(overflow).toBeLessThanOrEqual(0);
    // The text part says the same.
    const plain = String(message!.parsed.text);
    expect(plain).toContain('5 new errors and 2 resolved (the week before: 3 new, 2 resolved); 4 open at the end of the week.');
    expect(plain).toMatch(new RegExp(`New errors each day \\(Europe/Berlin\\): ${labels[0]} █ 1, ${labels[1]} · 0, ${labels[2]} █ 1,`));
    expect(plain).toContain('Orders: 4 errors, 1 the week before (+300 %)');
    expect(plain).toMatch(/the overview: https:\/\/app\.herald\.test\/environments\/weekly\/overview\n/i);
  });

  it('S47, S49: an admin in quiet hours until 09:00 gets theirs when they end; the admin who turned it off and the monitor who never turned it on get none', async () => {
    await sleepTo(berlin(0, 9, 20));
    await mail.waitFor(1, { to: people.quiet });
    const byPerson = await reviews();
    const quiet = byPerson.find((r) => r.email === people.quiet)!;
    expect(quiet.plannedAt.toMillis()).toBeGreaterThanOrEqual(berlin(0, 9).toMillis());
    // The world's admin gets it too, by default, on Mondays at 08:00 UTC.
    expect(byPerson.map((r) => r.email).sort()).toEqual(['ops@acme.test', people.newYork, people.owner, people.quiet].sort());
    expect(mail.to(people.optedOut)).toHaveLength(0);
    expect(mail.to(people.monitor)).toHaveLength(0);
  });

  it('S47: the review\'s one-click unsubscribe turns it off as the owner\'s own choice, which a catalog leaves; the next Monday brings none, New York\'s Friday its second, and a review refused for now comes when the mail server takes it; "my emails" lists it', async () => {
    const [message] = mail.to(people.owner);
    const headers = message!.raw.slice(0, message!.raw.search(/\r?\n\r?\n/)).replace(/\r?\n(?=[ \t])/g, '');
    const link = new URL(/^List-Unsubscribe:\s*<([^>]+)>$/m.exec(headers)![1]!);
    const answer = await fetch(`${server.url}${link.pathname}`, { method: 'POST' });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('gets no more weekly reviews of Weekly');
    const owner = (await db('users').where({ email: people.owner }).first('id')).id as number;
    const settings = createSettingsStore(db);
    expect(await settings.weeklyReview(owner, 'weekly')).toEqual({ review: { on: false, day: 'monday', at: '08:00' }, timeZone: 'Europe/Berlin', chosenOnPage: true });
    const changes = await applyCatalog(db, { subscriptions: [{ environment: 'weekly', user: people.owner, weeklyReview: { on: true } }] });
    expect(changes).toMatchObject({ 'weekly reviews kept as chosen in settings': 1 });
    expect((await settings.weeklyReview(owner, 'weekly')).review.on).toBe(false);

    // The quiet admin's mail server refuses them for now next Monday: the review waits in the outbox and comes when it takes it.
    mail.refuseAt(people.quiet, 'rcpt', 451);
    await sleepTo(berlin(7, 9, 20));
    await mail.waitFor(2, { to: people.newYork });
    const deferred = await db('notifications as d').whereNull('d.channel_id').join('users as u', 'u.id', 'd.user_id').where({ 'u.email': people.quiet, 'd.kind': 'weekly' }).orderBy('d.id', 'desc').first('d.status', 'd.last_error', 'd.retry_at');
    expect(deferred).toMatchObject({ status: 'pending', last_error: expect.stringContaining('451') });
    expect(deferred.retry_at).not.toBeNull();
    mail.accept(people.quiet);
    await env.sleep(minutes(30));
    await mail.waitFor(2, { to: people.quiet });
    expect(mail.to(people.owner)).toHaveLength(1);
    const [second] = (await reviews()).filter((r) => r.email === people.newYork).slice(1);
    expect(second!.plannedAt.toMillis()).toBeGreaterThanOrEqual(friday.plus({ days: 7 }).toMillis());

    const lines = emailPageLines(await createPageStore(db).emails({ id: owner, account: 'acme' }, 50));
    const line = lines.find((l) => l.kind === 'weekly');
    expect(line).toMatchObject({ kindName: 'Weekly review', subject: '[Weekly] Your week in Acme flows: 5 new errors, 2 resolved', status: 'sent' });
  });
});
