/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { launchBrowser, saveScreenshot } from './helpers/browser.js';
import { startFixture } from './helpers/fixture.js';
import type { ReceivedMail } from './helpers/mail.js';
import { freePort } from './helpers/ports.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { startServer } from './helpers/server.js';
import { testSecret } from './helpers/herald.js';
import { emailActionToken, readEmailActionToken, type EmailActionLink } from '../email/email-actions.js';
import { emailActions } from '../contracts/email-action.js';
import { applyCatalog } from '../catalog/catalog.js';
import { remindNowUpdate } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { startChannelReceiver } from './helpers/channel-receiver.js';
import { putChannel, putTarget } from '../admin/channels.js';
import { createPeopleStore } from '../stores/people-store.js';
import { decode, Visitor } from './helpers/visitor.js';
import { channelActionToken, readChannelActionToken } from '../channels/channel-actions.js';

const artifacts = new URL('../test-artifacts/email-actions/', import.meta.url).pathname;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const minutes = (n: number) => n * 60_000;
const days = (n: number) => n * 24 * 60 * 60_000;

describe('S45: acting from an email', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { env, db, mail, herald } = await startFixture({
    // The watcher, a monitor, follows the orders flow too.
    also: [{ subscriptions: [{ environment: 'prod', user: 'watcher@acme.test', flows: ['orders'] }] }],
    herald: { appUrl: base, channelAllow: '127.0.0.1' },
  });
  // The server as `npm run server` builds it; a second one whose clock reads 8 days later.
  await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, smtpUrl: mail.url, port, appUrl: base });
  const later = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, smtpUrl: mail.url, appUrl: base, clock: () => new Date(Date.now() + days(8)) });
  const browser = await launchBrowser();
  mkdirSync(artifacts, { recursive: true });

  // One error on its own, and three that differ only in a customer's id: one group line (S42).
  await herald.client.reportErrors({
    environment: 'prod',
    flow: 'orders',
    reportId: 'act-1',
    errors: [
      { traceKey: 'SO-1', message: 'Price list missing for currency CHF', code: 'VALIDATION' },
      ...[11, 12, 13].map((n) => ({ traceKey: `SO-${n}`, message: `Customer C-${n} not found in the ERP`, code: 'NOT_FOUND' })),
    ],
  });
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: minutes(15) });
  await runCycleNow(herald.temporal, 'prod');
  const [digest] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
  const [monitorsDigest] = await mail.waitFor(1, { to: 'watcher@acme.test' });
  const errorId = async (traceKey: string) => Number((await db('errors').where({ trace_key: traceKey }).first('id'))!.id);
  const statusOf = async (traceKey: string) => db('errors').where({ trace_key: traceKey }).first('status', 'resolved_by', 'resolved_via', 'snooze_id');

  /** The email as its reader sees it at 375 px: each row's visible words, and its action links by what they say. */
  const read = async (message: ReceivedMail, name: string) => {
    const page = await browser.newPage({ viewport: { width: 375, height: 900 } });
    await page.setContent(String(message.parsed.html), { waitUntil: 'load' });
    await saveScreenshot(page, `${artifacts}${name}-375.png`);
    const rows = await page.evaluate(() =>
      Array.from(document.querySelectorAll('tr[data-error="new"]')).map((row) => {
        const actions = row.nextElementSibling?.matches('[data-actions]') ? row.nextElementSibling : null;
        return {
          words: (row as HTMLElement).innerText.replace(/\s+/g, ' ').trim(),
          actions: actions ? (actions as HTMLElement).innerText.replace(/\s+/g, ' ').trim() : '',
          links: actions ? Object.fromEntries(Array.from(actions.querySelectorAll('a')).map((a) => [a.textContent!.trim(), a.getAttribute('href')!])) : {},
        };
      }),
    );
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.close();
    return { rows, overflow };
  };
  const seen = await read(digest!, 'digest');
  const single = seen.rows.find((row) => row.words.includes('Price list missing'))!;
  const group = seen.rows.find((row) => row.words.includes('3 × Customer'))!;
  /** What a mail scanner does: follows the link, reads, never presses anything. */
  const scan = (url: string) => fetch(url, { redirect: 'manual' });
  /** A person follows the link in a browser of their own, and presses the page's one button. */
  const follow = async (url: string, press: boolean) => {
    const context = await browser.newContext({ viewport: { width: 375, height: 900 } });
    const page = await context.newPage();
    const refusedByPolicy: string[] = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to (load|apply|execute|frame)/i.test(message.text())) refusedByPolicy.push(message.text());
    });
    const opened = await page.goto(url);
    const answer: { status: number; heading: string; message: string; example?: string } = { status: opened!.status(), heading: await page.innerText('h1'), message: await page.innerText('[data-message]') };
    // Read at a phone's width: nothing wider than it, no serious accessibility violation, nothing the pages' policy refused.
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string }[] }> } }).axe.run();
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
    });
    expect(violations, url).toEqual([]);
    expect(refusedByPolicy).toEqual([]);
    if (!press) {
      await context.close();
      return answer;
    }
    await page.click('main button[type=submit]');
    await page.waitForLoadState('load');
    const example = (await page.$('[data-example]')) ? await page.innerText('[data-example]') : undefined;
    const pressed = { status: answer.status, heading: await page.innerText('h1'), message: await page.innerText('[data-message]'), example };
    await saveScreenshot(page, `${artifacts}done-375.png`);
    await context.close();
    return pressed;
  };

  it('S45: each new row of a digest carries resolve, snooze for a day and assign to me, read at 375 px; a monitor\'s rows carry none', async () => {
    expect(seen.overflow).toBeLessThanOrEqual(0);
    expect(single.actions).toBe('Resolve · Snooze for a day · Assign to me');
    expect(group.actions).toBe('Resolve all · Snooze all for a day · Assign all to me');
    for (const href of [...Object.values(single.links), ...Object.values(group.links)]) expect(href).toMatch(new RegExp(`^${base}/act/[\\w-]+\\.[\\w-]+$`));
    // The text part carries the same links.
    expect(digest!.parsed.text).toContain(`Resolve: ${single.links.Resolve}`);
    const monitors = await read(monitorsDigest!, 'monitor-digest');
    expect(monitors.rows.map((row) => row.words)).toEqual(seen.rows.map((row) => row.words));
    expect(monitors.rows.every((row) => row.actions === '')).toBe(true);
    expect(String(monitorsDigest!.parsed.html)).not.toContain('/act/');
  });

  it('S45: a scanner\'s GET changes nothing; the button resolves once, by its recipient from an email; pressed again it says it is done; the next digest says who', async () => {
    const link = single.links.Resolve!;
    const scanned = await scan(link);
    expect(scanned.status).toBe(200);
    expect(await scanned.text()).toContain('Nothing happens until you press the button.');
    expect(await statusOf('SO-1')).toMatchObject({ status: 'open' });

    const asked = await follow(link, false);
    expect(asked).toMatchObject({ heading: 'Resolve?', message: 'Resolve "Price list missing for currency CHF" (trace key SO-1) in Orders, as orders-team@acme.test.' });
    const done = await follow(link, true);
    expect(done).toMatchObject({ heading: 'Done', message: '1 error resolved: "Price list missing for currency CHF" (trace key SO-1) in Orders.' });
    expect(await statusOf('SO-1')).toMatchObject({ status: 'resolved', resolved_by: 'orders-team@acme.test', resolved_via: 'email' });
    expect(await db('email_actions').where({ action: 'resolve' }).select('action', 'target', 'errors')).toEqual([{ action: 'resolve', target: 'error', errors: 1 }]);
    // Audited as done by its recipient, from an email.
    expect(await db('audit_events').where({ action: 'resolved' }).select('actor', 'kind', 'entity', 'detail')).toEqual([
      { actor: 'orders-team@acme.test', kind: 'errors', entity: `prod/error ${await errorId('SO-1')}`, detail: { errors: [await errorId('SO-1')], via: 'email' } },
    ]);

    const again = await follow(link, false);
    expect(again.heading).toBe('Already done');
    expect(again.message).toMatch(/^You resolved 1 error by this link on .+\. Nothing more to do\.$/);

    // The next digest tells those who were told of it who resolved it, and how.
    const before = mail.to('orders-team@acme.test').length;
    await runCycleNow(herald.temporal, 'prod');
    const [next] = (await mail.waitFor(before + 1, { to: 'orders-team@acme.test' })).slice(before);
    expect(next!.parsed.text).toContain('resolved by orders-team@acme.test from an email');
  });

  it('S45: a group\'s snooze for a day, pressed from the email, snoozes the group\'s open errors, by its recipient from an email', async () => {
    const done = await follow(group.links['Snooze all for a day']!, true);
    // The page names the group as the email's line does.
    expect(group.words).toContain('3 × Customer C-‹id› not found in the ERP');
    expect(done).toMatchObject({ heading: 'Done', message: '3 errors snoozed for a day: 3 open errors like "Customer C-‹id› not found in the ERP" in Orders.' });
    // Beside the pattern, a real error of the group (S48).
    expect(done.example).toMatch(/^One of them: "Customer C-1[123] not found in the ERP" \(trace key SO-1[123]\)$/);
    for (const key of ['SO-11', 'SO-12', 'SO-13']) expect((await statusOf(key))!.snooze_id).not.toBeNull();
    expect(await db('snoozes').select('snoozed_by', 'via', 'group_key')).toEqual([{ snoozed_by: 'orders-team@acme.test', via: 'email', group_key: expect.any(String) }]);
  });

  it('S45: a reminder\'s rows carry the same actions, signed for the reminder; its Assign to me assigns the error to its reader', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'act-2', errors: [{ traceKey: 'SO-2', message: 'Credit limit exceeded', code: 'CREDIT' }] });
    await runCycleNow(herald.temporal, 'prod');
    await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '1 minute' }] });
    await env.sleep(minutes(2));
    const before = mail.to('orders-team@acme.test').length;
    await herald.temporal.workflow.getHandle(environmentDigestWorkflowId('prod')).executeUpdate(remindNowUpdate);
    const reminder = (await mail.waitFor(before + 1, { to: 'orders-team@acme.test', timeoutMs: 10_000 })).slice(before).find((m) => /still open/.test(m.parsed.subject ?? ''))!;
    const page = await browser.newPage({ viewport: { width: 375, height: 900 } });
    await page.setContent(String(reminder.parsed.html), { waitUntil: 'load' });
    await saveScreenshot(page, `${artifacts}reminder-375.png`);
    const row = await page.evaluate(() => {
      const open = Array.from(document.querySelectorAll('tr[data-error="still-open"]')).find((tr) => (tr as HTMLElement).innerText.includes('Credit limit exceeded'))!;
      const actions = open.nextElementSibling as HTMLElement;
      return { actions: actions.innerText.replace(/\s+/g, ' ').trim(), assign: actions.querySelector('a:last-child')!.getAttribute('href')! };
    });
    await page.close();
    expect(row.actions).toBe('Resolve · Snooze for a day · Assign to me');
    const done = await follow(row.assign, true);
    expect(done).toMatchObject({ heading: 'Done', message: '1 error assigned to you: "Credit limit exceeded" (trace key SO-2) in Orders.' });
    const assigned = await db('errors as e').join('users as u', 'u.id', 'e.assignee_id').where('e.trace_key', 'SO-2').first('u.email');
    expect(assigned).toEqual({ email: 'orders-team@acme.test' });
    const event = await db('assignment_events').orderBy('id', 'desc').first('id', 'assigned_by', 'via');
    expect(event).toMatchObject({ assigned_by: 'orders-team@acme.test', via: 'email' });
    // Whoever assigns to themselves is told nothing: no email, no post planned with the assignment.
    expect(await db('notifications').whereNull('channel_id').where({ assignment_event_id: event.id }).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await db('notifications').whereNotNull('channel_id').where({ assignment_event_id: event.id }).count({ n: '*' })).toEqual([{ n: 0 }]);
    // Assigned by another, the assignee is emailed: what is theirs now they may resolve or snooze from it.
    await herald.client.assignErrors({ environment: 'prod', errorIds: [await errorId('SO-2')], assignee: 'orders-team@acme.test', user: 'ops@acme.test' });
    await expect.poll(() => mail.to('orders-team@acme.test').some((m) => /assigned you/.test(m.parsed.subject ?? ''))).toBe(true);
    expect(mail.to('orders-team@acme.test').filter((m) => /assigned you/.test(m.parsed.subject ?? '')).map((m) => m.parsed.subject)).toEqual(['ops@acme.test assigned you 1 error in Acme flows']);
    const assignment = mail.to('orders-team@acme.test').find((m) => /assigned you/.test(m.parsed.subject ?? ''));
    const page2 = await browser.newPage({ viewport: { width: 375, height: 900 } });
    await page2.setContent(String(assignment!.parsed.html), { waitUntil: 'load' });
    const words = await page2.evaluate(() => (document.querySelector('tr[data-actions]') as HTMLElement).innerText.replace(/\s+/g, ' ').trim());
    await page2.close();
    expect(words).toBe('Resolve · Snooze for a day');
  });

  it('S45: a tampered link, one made for another recipient, and an email 8 days old do nothing, and say why', async () => {
    const link = single.links['Assign to me']!;
    const token = link.split('/act/')[1]!;
    // One character of the signature changed.
    const tampered = `${base}/act/${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const refused = await follow(tampered, false);
    expect(refused).toMatchObject({ status: 403, heading: 'This link does not work' });
    // The watcher's own user, on the orders team's email: no such email of theirs.
    const original = readEmailActionToken(testSecret, token)!;
    const watcher = Number((await db('users').where({ email: 'watcher@acme.test' }).first('id'))!.id);
    const foreign = `${base}/act/${emailActionToken(testSecret, { ...original, userId: watcher })}`;
    expect(await follow(foreign, false)).toMatchObject({ status: 403, heading: 'This link does not work' });
    // By the clock of a server 8 days on.
    const expired = await follow(link.replace(base, later.url), false);
    expect(expired).toMatchObject({ status: 410, heading: 'This link has expired' });
    expect(expired.message).toContain('The links of an email act for 7 days');
    // None of them changed anything.
    expect(await db('errors').where({ id: await errorId('SO-1') }).first('assignee_id')).toEqual({ assignee_id: null });
    expect(await db('email_actions').where({ action: 'assign', error_id: await errorId('SO-1') })).toEqual([]);
  });

  it('S45: a Slack message\'s and a Teams card\'s new lines carry the same actions; a link asks whoever follows it to sign in, and acts as them if their role allows, "from Slack"', async () => {
    const receiver = await startChannelReceiver();
    const actor = 'the test';
    for (const [name, kind] of [['ops-slack', 'slack'], ['orders-teams', 'teams']] as const) {
      await putChannel(db, { actor, account: 'acme', name, kind, url: receiver.url(`/${kind}`), policy: { allow: ['127.0.0.1'] } });
    }
    await putTarget(db, { actor, account: 'acme', environment: 'prod', email: 'ops@acme.test', body: { email: true, channel: 'ops-slack' } });
    await putTarget(db, { actor, account: 'acme', environment: 'prod', email: 'orders-team@acme.test', body: { email: true, channel: 'orders-teams' } });
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'act-channels', errors: [{ traceKey: 'SO-30', message: 'Warehouse code W-9 unknown', code: 'VALIDATION' }] });
    await runCycleNow(herald.temporal, 'prod');
    await expect.poll(() => receiver.accepted('/slack').length + receiver.accepted('/teams').length, { timeout: 20_000 }).toBe(2);

    // Slack: the line is followed by its actions, as links (mrkdwn <url|label>) in a block of their own.
    const slack = receiver.accepted('/slack')[0] as { blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[] };
    const line = slack.blocks.findIndex((b) => b.text?.text.includes('Warehouse code W-9 unknown'));
    expect(slack.blocks[line + 1]!.type).toBe('context');
    const slackLinks = Object.fromEntries([...slack.blocks[line + 1]!.elements![0]!.text.matchAll(/<([^|>]+)\|([^>]+)>/g)].map((m) => [m[2]!, m[1]!]));
    expect(Object.keys(slackLinks)).toEqual(['Resolve', 'Snooze for a day', 'Assign to me']);
    // Teams: the line's container ends with a set of buttons opening the same pages.
    const cardBody = JSON.stringify(receiver.accepted('/teams')[0]);
    const container = (JSON.parse(cardBody) as { attachments: { content: { body: { items?: unknown[] }[] } }[] }).attachments[0]!.content.body.find((b) => JSON.stringify(b).includes('Warehouse code W-9 unknown'))!;
    const buttons = (container.items!.at(-1) as { type: string; actions: { title: string; url: string }[] });
    expect(buttons.type).toBe('ActionSet');
    expect(buttons.actions.map((a) => a.title)).toEqual(['Resolve', 'Snooze for a day', 'Assign to me']);
    for (const url of [...Object.values(slackLinks), ...buttons.actions.map((a) => a.url)]) expect(url).toMatch(new RegExp(`^${base}/act/[\\w-]+\\.[\\w-]+$`));
    const slackResolve = new URL(slackLinks.Resolve!).pathname;
    const teamsResolve = new URL(buttons.actions[0]!.url).pathname;
    // The link names the channel's message, not a person.
    expect(readChannelActionToken(testSecret, slackResolve.slice('/act/'.length))).toMatchObject({ action: 'resolve', target: 'error', errorId: await errorId('SO-30') });

    // A chat's link preview (or a scanner) is sent to sign in, and changes nothing.
    const scanned = await scan(`${base}${slackResolve}`);
    expect(scanned.status).toBe(303);
    expect(scanned.headers.get('location')).toBe(`/sign-in?next=${encodeURIComponent(slackResolve)}`);
    expect(await statusOf('SO-30')).toMatchObject({ status: 'open' });

    const signedIn = async (email: string, next: string) => {
      const [link] = await createPeopleStore(db).createSignInLinks(email, next);
      const visitor = new Visitor(base);
      expect((await visitor.submit(`/sign-in/${link!.token}`)).location).toBe(next);
      return visitor;
    };
    const words = (html: string) => decode(html.replace(/<wbr>/g, '').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');
    // A monitor in the channel reads; they resolve nothing.
    const watcher = await (await signedIn('watcher@acme.test', slackResolve)).get(slackResolve);
    expect(watcher.status).toBe(403);
    expect(words(watcher.html)).toContain('watcher@acme.test is a monitor user');
    // The admin is asked, presses, and it is done as them, from Slack.
    const ops = await signedIn('ops@acme.test', slackResolve);
    expect(words((await ops.get(slackResolve)).html)).toContain('Resolve "Warehouse code W-9 unknown" (trace key SO-30) in Orders, as ops@acme.test.');
    expect(words((await ops.submit(slackResolve)).html)).toContain('1 error resolved: "Warehouse code W-9 unknown" (trace key SO-30) in Orders.');
    expect(await statusOf('SO-30')).toMatchObject({ status: 'resolved', resolved_by: 'ops@acme.test', resolved_via: 'slack' });
    expect(words((await ops.get(`/environments/prod/errors/${await errorId('SO-30')}`)).html)).toContain('by ops@acme.test from Slack');
    // The account's changes, as its admin reads them: who resolved it, and from where.
    expect(words((await ops.get('/account/changes')).html)).toContain(`ops@acme.test resolved errors prod/error ${await errorId('SO-30')} from Slack`);
    // Pressed again by them: done already; the same error's link in Teams, followed by another: nothing left to do.
    expect(words((await ops.get(slackResolve)).html)).toMatch(/You resolved 1 error by this link on .+\. Nothing more to do\./);
    const orders = await (await signedIn('orders-team@acme.test', teamsResolve)).get(teamsResolve);
    expect(words(orders.html)).toContain('"Warehouse code W-9 unknown" (trace key SO-30) in Orders is resolved: there is nothing left to resolve.');
    // A link made for another message of the channel, or altered, does nothing.
    const made = readChannelActionToken(testSecret, teamsResolve.slice('/act/'.length))!;
    const forged = await ops.get(`/act/${channelActionToken('another-secret-of-32-characters-long', made)}`);
    expect(forged.status).toBe(403);
    const otherMessage = await ops.get(`/act/${channelActionToken(testSecret, { ...made, messageId: '00000000-0000-4000-8000-000000000000' })}`);
    expect(otherMessage.status).toBe(403);

    // The next digest tells those who were told who resolved it, and from where.
    const before = mail.to('orders-team@acme.test').length;
    await runCycleNow(herald.temporal, 'prod');
    const [next] = (await mail.waitFor(before + 1, { to: 'orders-team@acme.test' })).slice(before);
    expect(next!.parsed.text).toContain('resolved by ops@acme.test from Slack');
  });

  it('S45: a token reads back as made, and any one character changed reads as nothing', () => {
    const links = fc.record<EmailActionLink>({
      userId: fc.integer({ min: 1, max: 2 ** 40 }),
      emailId: fc.uuid(),
      action: fc.constantFrom(...emailActions),
      target: fc.constantFrom('error' as const, 'group' as const),
      errorId: fc.integer({ min: 1, max: 2 ** 40 }),
    });
    fc.assert(
      fc.property(links, fc.nat(), fc.constantFrom(...'ABCxyz019-_.'), (link, at, character) => {
        const token = emailActionToken(testSecret, link);
        expect(readEmailActionToken(testSecret, token)).toEqual(link);
        const index = at % token.length;
        const changed = `${token.slice(0, index)}${character}${token.slice(index + 1)}`;
        if (changed !== token) expect(readEmailActionToken(testSecret, changed)).toBeUndefined();
        expect(readEmailActionToken('another-secret-of-thirty-two-characters', token)).toBeUndefined();
      }),
    );
  });
});
