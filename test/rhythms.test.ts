/**
 * Each person's own rhythm (S41) on the real stack: the time-skipping server, PostgreSQL, the mail
 * server, Herald's worker. One environment's digest runs every 15 minutes; beside an every-cycle
 * person, an hourly one, a daily one in Berlin and one in New York, and one with quiet hours. The
 * rhythms come from the catalog, as a platform sets them. Time is moved a cycle at a time, and
 * what each person was sent is read from the deliveries and the mail received.
 */
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { startFixture } from './helpers/fixture.js';
import { startChannelReceiver } from './helpers/channel-receiver.js';
import { applyCatalog } from '../catalog/catalog.js';
import { createPageStore } from '../stores/page-store.js';
import { emailPageLines } from '../server/routes/emails.js';
import { pageTime } from '../server/page-renderer.js';
import { rowsOf, startDigest } from './helpers/digests.js';
import { composeSentEmail } from '../notifications/sent-email.js';
import { testSecret } from './helpers/herald.js';
import { digestStatusQuery, setIntervalUpdate } from '../workflows/environment-digest.js';

const minutes = (n: number) => n * 60_000;
const people = {
  every: 'every@acme.test',
  hourly: 'hourly@acme.test',
  berlin: 'berlin@acme.test',
  newYork: 'new-york@acme.test',
  night: 'night@acme.test',
  sleeper: 'sleeper@acme.test',
};

describe('each person\'s own rhythm', async () => {
  const { env, db, mail, herald } = await startFixture({
    also: [
      {
        users: Object.values(people).map((email) => ({ account: 'acme', email, name: email.split('@')[0]!, role: 'monitor' as const })),
        // Reminders of errors left open would be emails of another kind: not in these months.
        environments: [{ id: 'rhythms', account: 'acme', name: 'Rhythms', production: true, remindAfter: '1000 days' }],
        integrations: [{ id: 'rhythm-shop', environment: 'rhythms', name: 'Shop' }],
        connections: [{ id: 'rhythm-api', environment: 'rhythms', name: 'Rhythm API' }],
        flows: [{ id: 'rhythm-orders', integration: 'rhythm-shop', name: 'Orders' }],
        subscriptions: [
          { environment: 'rhythms', user: people.every, flows: ['rhythm-orders'] },
          { environment: 'rhythms', user: people.hourly, flows: ['rhythm-orders'], rhythm: { every: 'hour', timeZone: 'UTC' } },
          { environment: 'rhythms', user: people.berlin, flows: ['rhythm-orders'], rhythm: { every: 'day', at: '08:00', timeZone: 'Europe/Berlin' } },
          { environment: 'rhythms', user: people.newYork, flows: ['rhythm-orders'], rhythm: { every: 'day', at: '08:00', timeZone: 'America/New_York' } },
          { environment: 'rhythms', user: people.night, flows: ['rhythm-orders'], connections: ['rhythm-api'], rhythm: { every: 'cycle', quietHours: { from: '22:00', to: '07:00' } } },
          // Quiet hours without connection emails either; no flows, so no digests.
          { environment: 'rhythms', user: people.sleeper, connections: ['rhythm-api'], rhythm: { every: 'cycle', quietHours: { from: '22:00', to: '07:00', connectionEmails: false } } },
        ],
      },
    ],
    herald: { channelAllow: '127.0.0.1' },
  });
  const receiver = await startChannelReceiver();
  const digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'rhythms', intervalMs: minutes(15) });
  const status = () => digest.query(digestStatusQuery);

  const now = async () => DateTime.fromMillis(await env.currentTimeMs(), { zone: 'UTC' });
  /**
   * Moves time to `time` (UTC), then on to a minute after the next cycle has ended: what the test
   * does next happens between two cycles, the next one 14 minutes away.
   */
  async function settleAt(time: DateTime): Promise<void> {
    await sleepTo(time);
    const { nextCycleAt } = await status();
    await env.sleep(Math.max(0, Date.parse(nextCycleAt) - (await now()).toMillis()) + minutes(1));
    // The cycle has run (or, with nothing to fix, slept through: #40) and sent when the digest waits again past it.
    for (;;) {
      const s = await status();
      if (Date.parse(s.nextCycleAt) > Date.parse(nextCycleAt) && s.state === 'waiting') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function sleepTo(time: DateTime): Promise<void> {
    const wait = time.toMillis() - (await now()).toMillis();
    if (wait > 0) await env.sleep(wait);
  }

  // Messages that do not group (S42): each error its own line.
  const messages: Record<string, string> = {
    E1: 'Credit hold',
    E2: 'Price list missing',
    E3: 'Tax code unknown',
    E4: 'Warehouse closed',
    E5: 'Carrier refused the parcel',
    E6: 'Address incomplete',
    E7: 'Payment declined',
  };
  let reported = 0;
  const report = async (traceKey: string) => {
    reported += 1;
    await herald.client.reportErrors({ environment: 'rhythms', flow: 'rhythm-orders', reportId: `r-${reported}`, errors: [{ traceKey, message: messages[traceKey] ?? 'Order rejected' }] });
  };
  const resolve = (traceKey: string) =>
    db('errors').where({ environment_id: 'rhythms', trace_key: traceKey }).update({ status: 'resolved', resolved_by: 'ops@acme.test', resolved_at: db.fn.now() });

  /** A person's digests so far: the cycle of each and its counts. */
  const digestsOf = async (email: string) =>
    (
      await db('notifications as d').whereNull('d.channel_id')
        .join('users as u', 'u.id', 'd.user_id')
        .join('digest_cycles as c', 'c.id', 'd.cycle_id')
        .where({ 'u.email': email, 'd.kind': 'digest', 'd.environment_id': 'rhythms' })
        .orderBy('c.number')
        .select('c.number', 'd.new_count', 'd.resolved_count', 'd.status')
    ).map((row) => ({ cycle: Number(row.number), new: row.new_count as number, resolved: row.resolved_count as number, status: row.status as string }));
  const counts = async (email: string) => (await digestsOf(email)).map((d) => `${d.new} new, ${d.resolved} resolved`);

  it('S41: hourly, daily and quiet-hours persons beside an every-cycle one: each told once on their own rhythm, counts exact since their own last digest, an error resolved before they were told never mentioned', async () => {
    // A day after the file started: every daily time before it has passed with nothing to tell.
    const day = (await now()).plus({ days: 1 }).startOf('day');
    const at = (hour: number, minute = 0, plusDays = 0) => day.plus({ days: plusDays, hours: hour, minutes: minute });

    await settleAt(at(12));
    await report('E1');
    await settleAt(at(14));
    await report('E2');
    await resolve('E1');
    // E3 comes and goes between two cycles: no one is told of it, now or later.
    await settleAt(at(15));
    await report('E3');
    await resolve('E3');
    // Three cycles of the same hour, each with news.
    await settleAt(at(16));
    await report('E4');
    await settleAt(at(16, 14));
    await report('E5');
    await settleAt(at(16, 29));
    await report('E6');
    // In the night person's quiet hours (22:00–07:00 UTC).
    await settleAt(at(23));
    await report('E7');
    await settleAt(at(23, 30));
    const toldOfE7 = (await digestsOf(people.every)).at(-1)!.cycle;
    expect((await digestsOf(people.night)).map((d) => d.cycle)).not.toContain(toldOfE7);
    // Past 08:00 in Berlin (07:00 UTC) and the end of the quiet hours.
    await settleAt(at(7, 15, 1));

    expect(await counts(people.every)).toEqual(['1 new, 0 resolved', '1 new, 1 resolved', '1 new, 0 resolved', '1 new, 0 resolved', '1 new, 0 resolved', '1 new, 0 resolved']);
    // Hourly: E1 at the first cycle of 13:00, E2 and E1's resolution at that of 15:00, E4–E6 at
    // that of 17:00, E7 at that of 00:00.
    expect(await counts(people.hourly)).toEqual(['1 new, 0 resolved', '1 new, 1 resolved', '3 new, 0 resolved', '1 new, 0 resolved']);
    // The night person as the every-cycle one, but E7 waited for the end of the quiet hours.
    const night = await digestsOf(people.night);
    expect(night.map((d) => `${d.new} new, ${d.resolved} resolved`)).toEqual(await counts(people.every));
    expect(night.at(-1)!.cycle).toBeGreaterThan(toldOfE7);
    // Berlin, daily at 08:00: one digest of all that is new since yesterday's 08:00, and nothing of
    // E1 (new and resolved before they were told) or E3.
    expect(await counts(people.berlin)).toEqual(['5 new, 0 resolved']);
    const [berlinMail] = await mail.waitFor(1, { to: people.berlin });
    expect(rowsOf(berlinMail!, 'new').map((row) => /E\d/.exec(row)?.[0]).sort()).toEqual(['E2', 'E4', 'E5', 'E6', 'E7']);
    expect(rowsOf(berlinMail!, 'resolved')).toEqual([]);
    expect(berlinMail!.parsed.text).toContain('Since your last digest: they come daily at 08:00 (Europe/Berlin).');
    expect(mail.to(people.every).some((m) => String(m.parsed.text).includes('Since your last digest'))).toBe(false);
    // S27: the email as "My emails" shows it again holds what was sent: the whole day's errors, not the last cycle's.
    const berlinDigest = await db('notifications as d').whereNull('d.channel_id').join('users as u', 'u.id', 'd.user_id').where({ 'u.email': people.berlin, 'd.kind': 'digest' }).first('d.id', 'd.cycle_id', 'd.user_id');
    const shown = await composeSentEmail(db, { id: berlinDigest.id, kind: 'digest', cycleId: berlinDigest.cycle_id, userId: berlinDigest.user_id }, 'https://app.herald.test', testSecret);
    const shownAsMail = { ...berlinMail!, parsed: { ...berlinMail!.parsed, html: shown.html } } as typeof berlinMail;
    expect(rowsOf(shownAsMail!, 'new')).toEqual(rowsOf(berlinMail!, 'new'));
    // New York, daily at 08:00 (13:00 UTC): E1 came before its first 08:00, and was resolved
    // after: told as new, then as resolved with the rest, once New York's 08:00 comes again.
    expect(await counts(people.newYork)).toEqual(['1 new, 0 resolved']);
    await settleAt(at(13, 0, 1));
    expect(await counts(people.newYork)).toEqual(['1 new, 0 resolved', '5 new, 1 resolved']);
    // E3 reached no one; each digest was sent once.
    expect(mail.received.filter((m) => String(m.parsed.html).includes(messages.E3!))).toEqual([]);
    const everyone = await Promise.all(Object.values(people).map(digestsOf));
    const total = everyone.flat().length;
    await mail.waitFor(total);
    expect(mail.received.filter((m) => m.envelopeTo.some((to) => Object.values(people).includes(to)))).toHaveLength(total);
  });

  it('S41: a daily digest at 08:00 in Europe/Berlin and in America/New_York comes once a day, at 08:00 local, across the spring-forward and fall-back changes', async () => {
    /** Over days of 15-minute cycles from `first`: an error each day at 18:00 UTC, and the person's digest checked either side of its due time. */
    async function acrossDays(person: string, days: { date: string; dueUtc: string }[]) {
      // Months pass in weekly cycles; the days themselves at 15 minutes.
      await digest.executeUpdate(setIntervalUpdate, { args: [7 * 24 * 60 * minutes(1)] });
      const first = DateTime.fromISO(`${days[0]!.date}T00:00`, { zone: 'UTC' }).minus({ days: 1 });
      await sleepTo(first);
      // The next cycle comes 15 minutes after the last weekly one: at once.
      await digest.executeUpdate(setIntervalUpdate, { args: [minutes(15)] });
      await settleAt(first.plus({ hours: 18 }));
      await report(`${person}-${days[0]!.date}-eve`);
      for (const { date, dueUtc } of days) {
        const due = DateTime.fromISO(`${date}T${dueUtc}`, { zone: 'UTC' });
        const before = (await digestsOf(person)).length;
        await settleAt(due.minus({ minutes: 20 }));
        expect((await digestsOf(person)).length, `${person} before ${due.toISO()}`).toBe(before);
        await settleAt(due);
        const after = await digestsOf(person);
        expect(after.length, `${person} at ${due.toISO()}`).toBe(before + 1);
        expect(after.at(-1)!.new, `${person}'s digest at ${due.toISO()}: the one error since the day before`).toBe(1);
        await settleAt(due.plus({ hours: 6 }));
        expect((await digestsOf(person)).length, `${person} once on ${date}`).toBe(before + 1);
        await settleAt(DateTime.fromISO(`${date}T18:00`, { zone: 'UTC' }));
        await report(`${person}-${date}`);
      }
    }
    // New York: 14 March 2027 (a 23-hour day), 7 November 2027 (25 hours); 08:00 is 13:00 UTC in
    // winter time, 12:00 in summer time. Berlin: 28 March and 31 October 2027; 07:00 and 06:00 UTC.
    await acrossDays(people.newYork, [
      { date: '2027-03-13', dueUtc: '13:00' },
      { date: '2027-03-14', dueUtc: '12:00' },
      { date: '2027-03-15', dueUtc: '12:00' },
    ]);
    await acrossDays(people.berlin, [
      { date: '2027-03-27', dueUtc: '07:00' },
      { date: '2027-03-28', dueUtc: '06:00' },
      { date: '2027-03-29', dueUtc: '06:00' },
    ]);
    await acrossDays(people.berlin, [
      { date: '2027-10-30', dueUtc: '06:00' },
      { date: '2027-10-31', dueUtc: '07:00' },
      { date: '2027-11-01', dueUtc: '07:00' },
    ]);
    await acrossDays(people.newYork, [
      { date: '2027-11-06', dueUtc: '12:00' },
      { date: '2027-11-07', dueUtc: '13:00' },
      { date: '2027-11-08', dueUtc: '13:00' },
    ]);
  }, 300_000); // about 1,350 real cycles over four DST weeks: 70 s alone, longer beside other files

  /** The subjects of the emails a person got that are not digests. */
  const notDigests = (email: string) => mail.to(email).map((m) => m.parsed.subject!).filter((subject) => !/\bnew errors?\b|\bresolved\b/.test(subject));
  /** A person's emails about a connection's changes, and what became of each. */
  const connectionEmailsOf = async (email: string) =>
    (
      await db('notifications as d').whereNull('d.channel_id')
        .join('connection_events as ev', 'ev.id', 'd.connection_event_id')
        .where({ 'd.recipient': email, 'd.kind': 'connection' })
        .orderBy('ev.sequence')
        .select('ev.status as told', 'd.status', 'd.held_until')
    ).map((row) => ({ told: row.told as string, status: row.status as string, heldUntil: row.held_until ? (row.held_until as Date).toISOString() : null }));

  /** At 23:00 tomorrow, the connection goes offline, past its grace period: the time, and how many connection emails the sleeper had before. */
  const offlineTomorrowNight = async () => {
    const night = (await now()).plus({ days: 1 }).startOf('day').plus({ hours: 23 });
    await settleAt(night);
    mail.clear();
    const before = (await connectionEmailsOf(people.sleeper)).length;
    await herald.client.reportConnectionStatus({ environment: 'rhythms', connection: 'rhythm-api', status: 'offline', reason: 'ECONNREFUSED' });
    await env.sleep(minutes(10));
    return { night, before };
  };

  it('S41, S49: in quiet hours a connection email comes at once to those who keep connection emails on, and when they end to those who turned them off', async () => {
    const { night, before } = await offlineTomorrowNight();
    const [offline] = await mail.waitFor(1, { to: people.night });
    expect(offline!.parsed.subject).toBe('Connection Rhythm API is offline');
    // The sleeper's is held until their quiet hours end at 07:00.
    await settleAt(night.plus({ hours: 7, minutes: 45 }));
    expect(mail.to(people.sleeper)).toHaveLength(0);
    expect((await connectionEmailsOf(people.sleeper)).slice(before)).toEqual([{ told: 'offline', status: 'pending', heldUntil: night.plus({ hours: 8 }).toJSDate().toISOString() }]);
    await settleAt(night.plus({ hours: 8, minutes: 1 }));
    await mail.waitFor(1, { to: people.sleeper });
    expect(notDigests(people.sleeper)).toEqual(['Connection Rhythm API is offline']);
    // Back online in the morning: both are told at once.
    await settleAt(night.plus({ hours: 9 }));
    await herald.client.reportConnectionStatus({ environment: 'rhythms', connection: 'rhythm-api', status: 'online' });
    await mail.waitFor(2, { to: people.sleeper });
    await expect.poll(() => notDigests(people.night), { timeout: 30_000 }).toHaveLength(2);
    expect(notDigests(people.sleeper)).toEqual(['Connection Rhythm API is offline', 'Connection Rhythm API is back online']);
    expect(notDigests(people.night)).toEqual(['Connection Rhythm API is offline', 'Connection Rhythm API is back online']);
  });

  it('S49: an outage that begins and ends in someone\'s quiet hours is no news when they end: their held email is dropped', async () => {
    const { night, before } = await offlineTomorrowNight();
    await settleAt(night.plus({ hours: 2 }));
    await herald.client.reportConnectionStatus({ environment: 'rhythms', connection: 'rhythm-api', status: 'online' });
    await expect.poll(() => notDigests(people.night), { timeout: 30_000 }).toHaveLength(2);
    await settleAt(night.plus({ hours: 8, minutes: 30 }));
    expect(notDigests(people.sleeper)).toEqual([]);
    expect((await connectionEmailsOf(people.sleeper)).slice(before).map(({ told, status }) => ({ told, status }))).toEqual([
      { told: 'offline', status: 'cancelled' },
      { told: 'online', status: 'cancelled' },
    ]);
    expect(notDigests(people.night)).toEqual(['Connection Rhythm API is offline', 'Connection Rhythm API is back online']);
  });

  it('S49: an assignment made in the assignee\'s quiet hours reaches them when those end; one made to someone awake, at once', async () => {
    const threeAm = (await now()).plus({ days: 1 }).startOf('day').plus({ hours: 3 });
    await settleAt(threeAm);
    await report('A-49');
    const id = (await db('errors').where({ environment_id: 'rhythms', trace_key: 'A-49' }).first('id'))!.id as number;
    mail.clear();
    await herald.client.assignErrors({ environment: 'rhythms', errorIds: [id], assignee: people.night, user: 'ops@acme.test', requestId: 'night-assignment' });
    await herald.client.assignErrors({ environment: 'rhythms', errorIds: [id], assignee: people.every, user: 'ops@acme.test', requestId: 'day-assignment' });
    await expect.poll(() => notDigests(people.every), { timeout: 30_000 }).toEqual(['ops@acme.test assigned you 1 error in Acme flows']);
    await settleAt(threeAm.plus({ hours: 3, minutes: 45 }));
    expect(notDigests(people.night)).toEqual([]);
    // "My emails" says why it waits.
    const night = (await db('users').where({ email: people.night }).first('id', 'account_id'))!;
    const line = emailPageLines(await createPageStore(db).emails({ id: Number(night.id), account: night.account_id }, 100)).find((l) => l.kind === 'assignment');
    expect(line!.statusText).toBe(`held for your quiet hours, until ${pageTime(threeAm.plus({ hours: 4 }).toJSDate())}`);
    await settleAt(threeAm.plus({ hours: 4, minutes: 1 }));
    await expect.poll(() => notDigests(people.night), { timeout: 30_000 }).toEqual(['ops@acme.test assigned you 1 error in Acme flows']);
  });

  it('S49: a channel\'s own rhythm: a daily channel is posted once a day at its time, with all that is new since; an every-cycle channel\'s quiet hours hold its news until they end', async () => {
    await applyCatalog(db, {
      users: [
        { account: 'acme', email: 'daily-team@acme.test', name: 'Daily team', role: 'monitor' },
        { account: 'acme', email: 'night-team@acme.test', name: 'Night team', role: 'monitor' },
      ],
      channels: [
        { account: 'acme', name: 'daily-room', kind: 'slack', url: receiver.url('/daily'), rhythm: { every: 'day', at: '09:00', timeZone: 'UTC' } },
        { account: 'acme', name: 'night-room', kind: 'slack', url: receiver.url('/night'), rhythm: { every: 'cycle', quietHours: { from: '22:00', to: '07:00' } } },
      ],
      subscriptions: [
        { environment: 'rhythms', user: 'daily-team@acme.test', flows: ['rhythm-orders'], target: { email: false, channel: 'daily-room' } },
        { environment: 'rhythms', user: 'night-team@acme.test', flows: ['rhythm-orders'], target: { email: false, channel: 'night-room' } },
      ],
    }, { channelPolicy: { allow: ['127.0.0.1'] } });
    const day = (await now()).plus({ days: 1 }).startOf('day');
    // A first cycle with the rhythms in place (the daily channel's first is due at once: nothing new for it).
    await settleAt(day.plus({ hours: 9, minutes: 30 }));
    receiver.clear();
    const posts = (path: string) => receiver.accepted(path).map((body) => (body as { text: string; blocks: unknown[] }));
    const said = (path: string) => posts(path).map((post) => `${post.text} | ${JSON.stringify(post.blocks)}`);
    Object.assign(messages, { C1: 'Stock level negative', C2: 'Unit of measure unknown', C3: 'Duplicate order number', C4: 'Freight class missing' });

    await settleAt(day.plus({ hours: 10 }));
    await report('C1');
    await settleAt(day.plus({ hours: 14 }));
    await report('C2');
    await report('C3');
    await settleAt(day.plus({ hours: 16 }));
    await resolve('C3');
    await settleAt(day.plus({ hours: 23 }));
    const beforeNight = posts('/night').length;
    await report('C4');
    // In the night room's quiet hours: nothing posted there, nor in the daily room before its time.
    await settleAt(day.plus({ days: 1, hours: 6, minutes: 45 }));
    expect(posts('/night')).toHaveLength(beforeNight);
    expect(posts('/daily')).toHaveLength(0);
    // The night room hears of C4 at the first cycle after 07:00.
    await settleAt(day.plus({ days: 1, hours: 7 }));
    expect(said('/night').slice(beforeNight)).toEqual([expect.stringMatching(/^Herald digest: 1 new, 0 resolved, \d+ open in Rhythms \|.*trace key `C4`/)]);
    // The daily room, once, at 09:00: C1, C2 and C4; C3, new and resolved since its last digest, is never mentioned.
    await settleAt(day.plus({ days: 1, hours: 9 }));
    expect(said('/daily')).toHaveLength(1);
    expect(said('/daily')[0]).toMatch(/^Herald digest: 3 new, 0 resolved, \d+ open in Rhythms \|/);
    // Read as Slack shows an error (its trace key in code), not as two letters that a random token of an action link may hold.
    for (const key of ['C1', 'C2', 'C4']) expect(said('/daily')[0]).toContain(`trace key \`${key}\``);
    expect(said('/daily')[0]).not.toContain('trace key `C3`');
    expect(said('/daily')[0]).not.toContain('Duplicate order number');
    // Nothing more until the next day's 09:00.
    await settleAt(day.plus({ days: 1, hours: 20 }));
    expect(posts('/daily')).toHaveLength(1);
  });
});
