/**
 * Snoozing what can wait (S46), on the real stack: the time-skipping server, PostgreSQL, the mail
 * server, Herald's worker and its HTTP API. One environment's digest runs every 15 minutes for ops;
 * errors are snoozed over the API until a time, or until they happen a number of times more, and
 * what ops is sent is read from the mail received, as ops reads it.
 */
import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import { rowsOf, startDigest, summaryOf, withTimeHeld } from './helpers/digests.js';
import type { ReceivedMail } from './helpers/mail.js';
import { createTokenStore } from '../stores/token-store.js';
import { createErrorStore } from '../stores/error-store.js';
import { applyCatalog } from '../catalog/catalog.js';
import { apiPrefix } from '../server/api.js';
import { digestStatusQuery } from '../workflows/environment-digest.js';

const minutes = (n: number) => n * 60_000;
const ops = 'ops@acme.test';

describe('S46: snoozing what can wait', async () => {
  const { env, db, mail, herald } = await startFixture({
    also: [
      {
        environments: [{ id: 'snooze', account: 'acme', name: 'Snoozing', production: true, remindAfter: '1 day' }],
        integrations: [{ id: 'snooze-shop', environment: 'snooze', name: 'Shop' }],
        flows: [{ id: 'snooze-orders', integration: 'snooze-shop', name: 'Orders', autoResolve: false }],
        subscriptions: [{ environment: 'snooze', user: ops, flows: ['snooze-orders'] }],
      },
    ],
  });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_API_RATE: '1000' } });
  const token = (await createTokenStore(db).create('acme', 'snoozing')).token;
  const digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'snooze', intervalMs: minutes(15) });
  const status = () => digest.query(digestStatusQuery);

  const snooze = async (body: Record<string, unknown>) => {
    const response = await fetch(`${server.url}${apiPrefix}/errors/snooze`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'snooze', user: ops, ...body }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  let reports = 0;
  // With the server's time held: no cycle comes while a report or a resolution is answered, so each cycle's email is the next one's.
  const report = (traceKey: string, message: string) =>
    withTimeHeld(env, () => herald.client.reportErrors({ environment: 'snooze', flow: 'snooze-orders', reportId: `snooze-${(reports += 1)}`, errors: [{ traceKey, message }] }));
  const resolve = (errorIds: number[]) => withTimeHeld(env, () => herald.client.resolveErrors({ environment: 'snooze', errorIds, user: ops }));
  const idOf = async (traceKey: string) => Number((await db('errors').where({ environment_id: 'snooze', trace_key: traceKey }).orderBy('id', 'desc').first('id'))!.id);
  const inTwoHours = async () => new Date((await env.currentTimeMs()) + minutes(120)).toISOString();

  /** Lets the digest run its next cycle (and send); answers what ops got from it. */
  async function nextCycle(): Promise<ReceivedMail[]> {
    const before = mail.to(ops).length;
    const { nextCycleAt } = await status();
    await env.sleep(Math.max(0, Date.parse(nextCycleAt) - (await env.currentTimeMs())) + minutes(1));
    for (;;) {
      const now = await status();
      if (Date.parse(now.nextCycleAt) > Date.parse(nextCycleAt) && now.state === 'waiting') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return mail.to(ops).slice(before);
  }
  /**
   * Lets cycles run until `time` (ISO) has passed, and one cycle more; answers what ops got
   * meanwhile, each with the cycle's time (the test server's) after which it came. The one more:
   * the digest wakes at a snooze's end between cycles, and its status may say "waiting" before it
   * has handled that wake (seen under load: the woken error's email came after the loop had ended).
   */
  async function cyclesUntil(time: string): Promise<{ after: number; email: ReceivedMail }[]> {
    const got: { after: number; email: ReceivedMail }[] = [];
    let after = await env.currentTimeMs();
    for (let past = false; !past; after = await env.currentTimeMs()) {
      past = after > Date.parse(time);
      got.push(...(await nextCycle()).map((email) => ({ after, email })));
    }
    return got;
  }
  /** The trace keys of a digest's new (or resolved) lines, as ops reads them. */
  const told = (email: ReceivedMail, list: 'new' | 'resolved' = 'new') => rowsOf(email, list).map((row) => /\bSN-\d+\b/.exec(row)?.[0] ?? row);
  /** The words of an email's HTML as its reader sees them. */
  const visible = (email: ReceivedMail) => String(email.parsed.html).replace(/<style[\s\S]*?<\/style>/g, ' ').replace(/<wbr>/g, '').replace(/<[^>]+>/g, ' ').replace(/&nbsp;/g, ' ').replace(/\s+/g, ' ');

  it('S46: an error snoozed until a time is left out of the digest, counted as snoozed, and told as new once when its time comes', async () => {
    // The digest waiting for its next cycle: what it does as it starts is behind it, not beside the reports below.
    while (!((await status()).state === 'waiting' && (await status()).nextCycleAt)) await new Promise((resolve) => setTimeout(resolve, 20));
    // Reported and snoozed before a cycle comes between (the server's time held meanwhile).
    const until = await withTimeHeld(env, async () => {
      await report('SN-1', 'Price list missing');
      await report('SN-2', 'Warehouse closed');
      const time = await inTwoHours();
      expect(await snooze({ errorIds: [await idOf('SN-1')], until: time })).toEqual({ status: 200, body: { snoozed: [await idOf('SN-1')], until: time, events: null } });
      return time;
    });

    const [first, ...more] = await nextCycle();
    expect(more).toEqual([]);
    expect(told(first!)).toEqual(['SN-2']);
    expect(summaryOf(first!)).toEqual({ new: 1, resolved: 0, open: 2 });
    expect(visible(first!)).toContain('2 open in total 1 of them snoozed');
    expect(String(first!.parsed.text)).toContain('Open in total: 2 (1 snoozed)');

    // Nothing while it sleeps; when its time comes, the digest, which knew when, tells it as new, once.
    const meanwhile = await cyclesUntil(until);
    expect(meanwhile.map(({ email }) => told(email))).toEqual([['SN-1']]);
    const [{ after: wokenAfter, email: woken }] = meanwhile as [(typeof meanwhile)[number]];
    // Told by the cycle that followed its time: the one after the last that began before it.
    expect(wokenAfter).toBeGreaterThan(Date.parse(until) - minutes(15));
    expect(summaryOf(woken!)).toEqual({ new: 1, resolved: 0, open: 2 });
    expect(visible(woken!)).not.toContain('snoozed');
    await report('SN-3', 'Tax code unknown');
    const [after] = await nextCycle();
    expect(told(after!)).toEqual(['SN-3']);
    expect(await db('snoozes').where({ environment_id: 'snooze', trace_key: 'SN-1' }).first('end_reason')).toEqual({ end_reason: 'its time came' });
    expect(await db('audit_events').where({ action: 'snoozed', entity: 'snooze/snooze-orders/SN-1' }).first('actor')).toEqual({ actor: ops });
  });

  it('S46: a group snoozed until it happens twice more: its new errors join it untold, reminders leave it out, and all come back as new once', async () => {
    await report('SN-10', 'Credit hold on order 1001');
    expect(told((await nextCycle())[0]!)).toEqual(['SN-10']);
    const { fingerprint } = (await db('errors').where({ trace_key: 'SN-10' }).first('fingerprint'))!;
    await withTimeHeld(env, async () => {
      expect(await snooze({ group: { flow: 'snooze-orders', group: fingerprint }, events: 2 })).toMatchObject({ status: 200, body: { snoozed: [await idOf('SN-10')], events: 2 } });
      await report('SN-11', 'Credit hold on order 1002');
    });
    const quiet = await nextCycle();
    expect(quiet).toEqual([]);
    // A day on, reminders of what is open past the threshold: not of the snoozed group.
    const reminded = await cyclesUntil(new Date((await env.currentTimeMs()) + minutes(24 * 60 + 60)).toISOString());
    const reminders = reminded.map(({ email }) => email).filter((email) => /still open/.test(String(email.parsed.subject)));
    expect(reminders.length).toBeGreaterThan(0);
    for (const email of reminders) expect(visible(email)).not.toContain('Credit hold');
    expect(visible(reminders[0]!)).toContain('Warehouse closed');

    // The second more: the snooze ends, and the group's three errors are new at the next cycle, once.
    await report('SN-12', 'Credit hold on order 1003');
    const [back] = await nextCycle();
    expect(summaryOf(back!).new).toBe(3);
    expect(visible(back!)).toContain('Credit hold on order');
    await report('SN-13', 'Carrier refused the parcel');
    const [later] = await nextCycle();
    expect(told(later!)).toEqual(['SN-13']);
    expect(await db('snoozes').where({ group_key: fingerprint }).first('end_reason', 'events_left')).toEqual({ end_reason: 'it happened its number of times', events_left: 0 });
  });

  it('S46: resolving a snoozed error ends its snooze; one nobody was told of is not told as resolved, one told before is', async () => {
    await report('SN-20', 'Address incomplete');
    expect(told((await nextCycle())[0]!)).toEqual(['SN-20']);
    const [toldBefore, untold] = await withTimeHeld(env, async () => {
      await report('SN-21', 'Payment declined');
      const ids = [await idOf('SN-20'), await idOf('SN-21')] as const;
      expect(await snooze({ errorIds: [...ids], until: await inTwoHours() })).toMatchObject({ status: 200, body: { snoozed: [...ids] } });
      return ids;
    });
    expect(await nextCycle()).toEqual([]);
    await resolve([toldBefore, untold]);
    expect(await db('snoozes').whereIn('trace_key', ['SN-20', 'SN-21']).orderBy('trace_key').pluck('end_reason')).toEqual(['resolved', 'resolved']);
    const [resolved] = await nextCycle();
    expect(told(resolved!, 'resolved')).toEqual(['SN-20']);
    expect(told(resolved!)).toEqual([]);
  });

  it('S46: a snooze is refused with words: by a monitor, without an end or with two, for less than a minute, of a resolved error, of another account\'s', async () => {
    await report('SN-30', 'Label printer offline');
    const id = await idOf('SN-30');
    const problems = async (body: Record<string, unknown>) => {
      const answer = await snooze(body);
      expect(answer.status).toBe(400);
      return JSON.stringify(answer.body.problems);
    };
    expect(await problems({ errorIds: [id], events: 3, user: 'watcher@acme.test' })).toContain('is a monitor user: monitors read, they do not snooze errors');
    expect(await problems({ errorIds: [id] })).toContain('say until when (until), for how long (for) or for how many more errors (events), one of them');
    expect(await problems({ errorIds: [id], events: 3, for: '1 day' })).toContain('one of them');
    expect(await problems({ errorIds: [id], for: '10s' })).toContain('must be a duration of 1 minute to 365 days');
    expect(await problems({ events: 3 })).toContain('name the errors (errorIds) or a group (group), one of them');
    await resolve([id]);
    expect(await problems({ errorIds: [id], events: 3 })).toContain(`errors ${id} are resolved: only open errors are snoozed`);
    expect((await snooze({ errorIds: [999_999], events: 3 })).status).toBe(404);
    // For a while: until that long after now.
    await report('SN-31', 'Scale offline');
    const answer = await snooze({ errorIds: [await idOf('SN-31')], for: '1 day' });
    expect(answer.status).toBe(200);
    expect(Math.abs(Date.parse(String(answer.body.until)) - Date.now() - 86_400_000)).toBeLessThan(60_000);
  });
  it('S46: a snoozed error that recovers in its retry window ends its snooze, as a resolved one does', async () => {
    await applyCatalog(db, { flows: [{ id: 'snooze-retries', integration: 'snooze-shop', name: 'Retries', autoResolve: true }] });
    const errors = createErrorStore(db);
    const stored = await errors.storeReport({ environment: 'snooze', flow: 'snooze-retries', reportId: 'snooze-retry', errors: [{ traceKey: 'SN-40', message: 'Gateway timeout', intermittent: true }] }, new Date());
    const [retrying] = stored.retrying;
    expect(await snooze({ errorIds: [retrying!.id], events: 5 })).toMatchObject({ status: 200, body: { snoozed: [retrying!.id] } });
    expect(await errors.closeRetryWindow([retrying!.id], [], new Date())).toMatchObject({ recovered: [retrying!.id] });
    expect(await db('snoozes').where({ trace_key: 'SN-40' }).first('end_reason')).toEqual({ end_reason: 'resolved' });
  });
});
