/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createTestDatabase } from './helpers/database.js';
import { createTestWorld } from './helpers/world.js';
import { startServer } from './helpers/server.js';
import { launchBrowser, saveScreenshot } from './helpers/browser.js';
import { createTrendStore } from '../stores/trend-store.js';
import { createErrorStore } from '../stores/error-store.js';
import { createSnoozeStore } from '../stores/snooze-store.js';
import { InputRefusedError } from '../contracts/problems.js';
import { createPeopleStore } from '../stores/people-store.js';
import { decode, Visitor } from './helpers/visitor.js';
import { startFixture } from './helpers/fixture.js';
import { runCycleNow, startDigest } from './helpers/digests.js';

const artifacts = new URL('../test-artifacts/overview/', import.meta.url).pathname;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const hour = 3_600_000;

describe('S47: trends', async () => {
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  // The day after the clocks went back in Berlin (Sunday 25 October 2026 had 25 hours there).
  const now = new Date('2026-10-26T12:20:00Z');
  const server = await startServer({ db, clock: () => now });
  const trends = createTrendStore(db);
  let key = 0;
  /** Errors as the stores write them, at hand-picked times: the database's trigger counts them. */
  const insert = (flow: string, reportedAt: string, resolvedAt?: string) =>
    db('errors').insert({
      environment_id: 'prod',
      flow_id: flow,
      report_id: 'trend-fixture',
      error_key: `trend-${(key += 1)}`,
      trace_key: `T-${key}`,
      message: 'Customer not found',
      status: 'open',
      occurred_at: reportedAt,
      reported_at: reportedAt,
    }).returning('id').then(async ([row]) => {
      if (resolvedAt) await db('errors').where({ id: row.id }).update({ status: 'resolved', resolved_by: 'ops@acme.test', resolved_at: resolvedAt, resolution_reason: 'resolved by user' });
      return Number(row.id);
    });

  // Hand-counted, in Berlin's days and hours:
  // - 24 Oct (CEST): 2 orders errors reported, one resolved on 26 Oct at 10:xx;
  // - 25 Oct, 25 hours: at 00:30 CEST, twice at 02:30 (once CEST, once CET: two hours of one name), 23:30 CET: 4 reported;
  //   one of them resolved at 23:45 the same day;
  // - 26 Oct (CET): 3 invoices errors at 11:05, 12:05 and 13:05 (13:05 is 12:05 UTC), one resolved at 13:10.
  const fixture = [
    ['orders', '2026-10-24T08:00:00Z', '2026-10-26T09:30:00Z'],
    ['orders', '2026-10-24T09:00:00Z'],
    ['orders', '2026-10-24T22:30:00Z'],
    ['orders', '2026-10-25T00:30:00Z', '2026-10-25T22:45:00Z'],
    ['orders', '2026-10-25T01:30:00Z'],
    ['orders', '2026-10-25T22:30:00Z'],
    ['invoices', '2026-10-26T10:05:00Z'],
    ['invoices', '2026-10-26T11:05:00Z'],
    ['invoices', '2026-10-26T12:05:00Z', '2026-10-26T12:10:00Z'],
  ] as const;
  for (const [flow, at, resolved] of fixture) await insert(flow, at, resolved);

  it('S47: errors by day in the viewer\'s zone, a 25-hour day included, and how many were open at the end of each, as counted by hand', async () => {
    const berlin = await trends.trends('prod', { now, timeZone: 'Europe/Berlin' });
    const days = berlin.days.slice(-3).map((d) => ({ day: d.at.toISOString(), reported: d.reported, resolved: d.resolved, open: d.open }));
    expect(days).toEqual([
      { day: '2026-10-23T22:00:00.000Z', reported: 2, resolved: 0, open: 2 },
      // 25 hours: from 00:00 CEST (22:00 UTC the day before) to 00:00 CET (23:00 UTC).
      { day: '2026-10-24T22:00:00.000Z', reported: 4, resolved: 1, open: 5 },
      { day: '2026-10-25T23:00:00.000Z', reported: 3, resolved: 2, open: 6 },
    ]);
    expect(berlin.openNow).toBe(6);
    expect(berlin.days).toHaveLength(30);
    expect(berlin.days.slice(0, -3).every((d) => d.reported === 0 && d.resolved === 0 && d.open === 0)).toBe(true);
    // In UTC the same errors fall on other days.
    const utc = await trends.trends('prod', { now, timeZone: 'UTC' });
    expect(utc.days.slice(-3).map((d) => [d.reported, d.resolved, d.open])).toEqual([[3, 0, 3], [3, 1, 5], [3, 2, 6]]);
    // By hour: the last 48, the current one last; "02:00" twice on the 25th, an hour apart.
    expect(berlin.hours).toHaveLength(48);
    expect(berlin.hours.at(-1)!.at.toISOString()).toBe('2026-10-26T12:00:00.000Z');
    const twice = berlin.hours.filter((h) => ['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z'].includes(h.at.toISOString()));
    expect(twice.map((h) => h.reported)).toEqual([1, 1]);
    expect(berlin.hours.at(-1)).toMatchObject({ reported: 1, resolved: 1, open: 6 });
    // One flow alone.
    const invoices = await trends.trends('prod', { now, timeZone: 'Europe/Berlin', flow: 'invoices' });
    expect(invoices.days.slice(-1)).toMatchObject([{ reported: 3, resolved: 1, open: 2 }]);
  });

  it('S47: the noisiest flows and groups this week against last, and time to resolve per flow', async () => {
    expect(await trends.noisiestFlows('prod', now)).toEqual([
      { flowId: 'orders', flowName: 'Orders', thisWeek: 6, lastWeek: 0 },
      { flowId: 'invoices', flowName: 'Invoices', thisWeek: 3, lastWeek: 0 },
    ]);
    // Groups of alike errors (S42): all of a flow's errors here have one message.
    expect(await trends.noisiestGroups('prod', now)).toEqual([
      { flowId: 'orders', flowName: 'Orders', groupKey: 'message:Customer not found', label: 'Customer not found', example: 'Customer not found', thisWeek: 6, lastWeek: 0 },
      { flowId: 'invoices', flowName: 'Invoices', groupKey: 'message:Customer not found', label: 'Customer not found', example: 'Customer not found', thisWeek: 3, lastWeek: 0 },
    ]);
    // Orders: after 22 h 15 min and 49 h 30 min (half within a day, all within 3 days); invoices after 5 minutes.
    expect(await trends.resolveTimes('prod', now)).toEqual([
      { flowId: 'invoices', flowName: 'Invoices', resolved: 1, median: 'within 5 minutes', p90: 'within 5 minutes' },
      { flowId: 'orders', flowName: 'Orders', resolved: 2, median: 'within a day', p90: 'within 3 days' },
    ]);
  });

  it('S47: the overview page, read at 375 and 1280 px under the pages\' policy: charts with their tables, the noisiest flows, time to resolve, downtime', async () => {
    await db('connection_events').insert([
      { connection_id: 'erp', sequence: 9001, status: 'offline', reason: 'TLS handshake timeout', changed_at: '2026-10-25T08:00:00Z' },
      { connection_id: 'erp', sequence: 9002, status: 'online', changed_at: '2026-10-25T10:00:00Z' },
    ]);
    const browser = await launchBrowser();
    mkdirSync(artifacts, { recursive: true });
    const context = await browser.newContext();
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to (load|apply|execute|frame)/i.test(message.text())) refused.push(message.text());
    });
    const target = '/environments/prod/overview?tz=Europe%2FBerlin';
    const [link] = await createPeopleStore(db).createSignInLinks('ops@acme.test', target);
    await page.goto(`${server.url}/sign-in/${link!.token}`);
    await page.click('main button[type=submit]');
    await page.waitForURL((url) => url.pathname === '/environments/prod/overview');

    const text = (selector: string) => page.innerText(selector).then((t) => t.replace(/\s+/g, ' ').trim());
    expect(await text('h1')).toBe('Overview');
    expect(await text('[data-open]')).toBe('6 open now. Hours and days in Europe/Berlin.');
    // The 30 days' chart, and its table: what the hand count says.
    expect(await page.getAttribute('svg[data-chart=days]', 'role')).toBe('img');
    expect(await page.textContent('#days-summary')).toContain('9 new and 3 resolved from');
    await page.click('text=Errors, the last 30 days as a table');
    const rows = await page.$$eval('section:has(#days-title) tbody tr', (trs) => trs.slice(-3).map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
    expect(rows).toEqual(['Sat 24 Oct 2 0 2', 'Sun 25 Oct 4 1 5', 'Mon 26 Oct 3 2 6']);
    // The bars: one per day, each titled with its figures.
    expect(await page.$$eval('svg[data-chart=days] g title', (titles) => titles.at(-2)!.textContent)).toBe('Sun 25 Oct: 4 new, 1 resolved, 5 open at its end');
    expect(await text('[data-table=noisiest] tbody')).toBe('Orders overview 6 0 new this week Invoices overview 3 0 new this week');
    expect(await text('[data-table=noisiest-groups] tbody')).toBe('Customer not found latest: Customer not found in Orders 6 0 new this week Customer not found latest: Customer not found in Invoices 3 0 new this week');
    expect(await page.$$eval('[data-table=noisiest-groups] tbody a', (as) => as[0]!.getAttribute('href'))).toBe('/environments/prod/errors?flow=orders&group=message%3ACustomer+not+found');
    expect(await text('[data-table=resolve-times] tbody')).toBe('Invoices 1 within 5 minutes within 5 minutes Orders 2 within a day within 3 days');
    expect(await text('[data-table=downtime] tbody')).toBe('ERP API 1 2 hours');
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await saveScreenshot(page, `${artifacts}overview-${width}.png`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), `overflow at ${width} px`).toBeLessThanOrEqual(0);
    }
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string }[] }> } }).axe.run();
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
    });
    expect(violations).toEqual([]);
    expect(refused).toEqual([]);
    // A bar's row leads to the errors list of its days.
    expect(await page.$$eval('section:has(#days-title) tbody tr th a', (as) => as.at(-1)!.getAttribute('href'))).toBe('/environments/prod/errors?since=2026-10-25&until=2026-10-26&grouped=0');
    await context.close();
  });

  it('S47: a time zone that is none is refused with words', async () => {
    const [link] = await createPeopleStore(db).createSignInLinks('ops@acme.test', '/');
    const ops = new Visitor(server.url);
    await ops.submit(`/sign-in/${link!.token}`);
    const refused = await ops.get('/environments/prod/overview?tz=Mars%2FOlympus');
    expect(refused.status).toBe(400);
    expect(decode(refused.html)).toContain('must be an IANA time zone such as "Europe/Berlin" or "UTC"');
  });
  it('S47, S46: the rollup stays exact while reports, resolutions and snoozes race', async () => {
    const errors = createErrorStore(db);
    const at = new Date();
    const reports = Array.from({ length: 24 }, (_, i) =>
      errors.storeReport({ environment: 'prod', flow: i % 2 ? 'orders' : 'invoices', reportId: `race-${i}`, errors: Array.from({ length: 5 }, (_, j) => ({ traceKey: `R-${i}-${j}`, message: `Race ${j}`, ...(j === 0 && { intermittent: true }) })) }, at),
    );
    const resolutions = (async () => {
      for (let round = 0; round < 12; round += 1) {
        const open = await db('errors').where({ environment_id: 'prod' }).where('trace_key', 'like', 'R-%').whereIn('status', ['open', 'retrying']).orderBy('id').limit(4).pluck('id');
        if (open.length > 0) await errors.resolveByUser('prod', open.map(Number), 'ops@acme.test', new Date());
      }
    })();
    // Snoozed until they are reported twice more: the reports racing here wake some of them.
    const snoozes = (async () => {
      for (let round = 0; round < 8; round += 1) {
        const open = await db('errors').where({ environment_id: 'prod', status: 'open' }).whereNull('snooze_id').where('trace_key', 'like', 'R-%').orderBy('id', 'desc').limit(2).pluck('id');
        if (open.length > 0) await createSnoozeStore(db).snooze({ environment: 'prod', errorIds: open.map(Number), events: 2, user: 'ops@acme.test' }, new Date()).catch((error: unknown) => {
          // Resolved or snoozed by the racers between the read and the snooze: refused as such, nothing else.
          if (!(error instanceof InputRefusedError)) throw error;
        });
      }
    })();
    await Promise.all([...reports, resolutions, snoozes]);
    const counted = await db.raw(`
      select environment_id, flow_id, hour, sum(reported)::int as reported, sum(resolved)::int as resolved from (
        select environment_id, flow_id, date_trunc('hour', reported_at) as hour, 1 as reported, 0 as resolved from errors
        union all
        select environment_id, flow_id, date_trunc('hour', resolved_at), 0, 1 from errors where status in ('resolved', 'auto_resolved')) e
      group by 1, 2, 3 order by 1, 2, 3`);
    const rolled = await db('error_trends').where('reported', '>', 0).orWhere('resolved', '>', 0).orderBy(['environment_id', 'flow_id', 'hour']).select('environment_id', 'flow_id', 'hour', 'reported', 'resolved');
    expect(rolled).toEqual(counted.rows);
    // And each group's errors by day.
    const byGroup = await db.raw(`select environment_id, flow_id, coalesce(fingerprint, 'message:' || message) as group_key, (reported_at at time zone 'UTC')::date as day, count(*)::int as reported
                                    from errors group by 1, 2, 3, 4 order by 1, 2, 3, 4`);
    expect(await db('error_group_trends').orderBy(['environment_id', 'flow_id', 'group_key', 'day']).select('environment_id', 'flow_id', 'group_key', 'day', 'reported')).toEqual(byGroup.rows);
    // And the errors open now, per flow, as the overview reads them.
    const open = await db('errors')
      .whereRaw("not (status in ('resolved', 'auto_resolved') and resolved_at is not null)")
      .groupBy('environment_id', 'flow_id')
      .orderBy(['environment_id', 'flow_id'])
      .select('environment_id', 'flow_id', db.raw('count(*)::int as open'), db.raw(`count(*) filter (where status = 'retrying')::int as retrying`));
    expect(open.some((row: { retrying: number }) => row.retrying > 0)).toBe(true);
    expect(await db('errors').where('trace_key', 'like', 'R-%').whereNotNull('snooze_id').count({ n: '*' }).first()).not.toEqual({ n: 0 });
    expect(await db('error_open_counts').where('open', '<>', 0).orderBy(['environment_id', 'flow_id']).select('environment_id', 'flow_id', 'open', 'retrying')).toEqual(open);
  });

  it('S47: any order of reports and resolutions leaves the open count read back through the hours equal to the errors open (generated)', async () => {
    const trial = await createTestDatabase();
    await createTestWorld(trial.db);
    const store = createTrendStore(trial.db);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ flow: fc.constantFrom('orders', 'invoices'), ageHours: fc.integer({ min: 0, max: 60 }), resolvedAfter: fc.option(fc.integer({ min: 0, max: 60 })) }), { maxLength: 12 }), async (events) => {
        for (const e of events) {
          n += 1;
          const reported = new Date(now.getTime() - e.ageHours * hour);
          const resolved = e.resolvedAfter === null ? undefined : new Date(Math.min(now.getTime(), reported.getTime() + e.resolvedAfter * hour));
          const [row] = await trial.db('errors').insert({ environment_id: 'prod', flow_id: e.flow, report_id: 'p', error_key: `p-${n}`, trace_key: `P-${n}`, message: 'x', status: 'open', occurred_at: reported, reported_at: reported }).returning('id');
          if (resolved) await trial.db('errors').where({ id: row.id }).update({ status: 'resolved', resolved_at: resolved });
        }
        const read = await store.trends('prod', { now, timeZone: 'America/New_York' });
        const openAt = async (end: Date) =>
          Number((await trial.db('errors').where({ environment_id: 'prod' }).where('reported_at', '<', end).whereRaw('(resolved_at is null or resolved_at >= ?)', [end]).count({ c: '*' }))[0]!.c);
        for (const point of read.hours.slice(-3)) expect(point.open).toBe(await openAt(new Date(point.at.getTime() + hour)));
      }),
      { numRuns: 15 },
    );
  });

  it('S47: the flows and groups that rose most are ordered by how much they rose, not by how many they had', async () => {
    // A week of November (after every other test's days): orders 3 against 2 (rose by 1), customers 2 against none (by 2);
    // resolved at once, so nothing above counts them open.
    const later = new Date('2026-11-20T12:00:00Z');
    const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T10:00:00Z`;
    const within = (day: number) => `2026-11-${String(day).padStart(2, '0')}T10:01:00Z`;
    for (const day of [15, 16, 17]) await insert('orders', at(day), within(day));
    for (const day of [8, 9]) await insert('orders', at(day), within(day));
    for (const day of [18, 19]) await insert('customers', at(day), within(day));
    expect((await trends.noisiestFlows('prod', later, 10, 'rose')).map((f) => [f.flowId, f.thisWeek, f.lastWeek])).toEqual([['customers', 2, 0], ['orders', 3, 2]]);
    expect((await trends.noisiestFlows('prod', later)).map((f) => f.flowId)).toEqual(['orders', 'customers']);
    expect((await trends.noisiestGroups('prod', later, 10, 'rose')).map((g) => [g.flowId, g.thisWeek, g.lastWeek])).toEqual([['customers', 2, 0], ['orders', 3, 2]]);
  });
});

describe('S47: a trend line in each digest', async () => {
  const { db, mail, herald } = await startFixture({});
  const browser = await launchBrowser();
  mkdirSync(artifacts, { recursive: true });

  it('S47: each flow with news shows its last 24 hours as bars of table cells and says how the day compares with the day before, in the HTML as read at 375 px and in the text', async () => {
    // The day before: five errors of orders, long resolved (never told, but they happened).
    const dayBefore = new Date(Date.now() - 30 * hour);
    await db('errors').insert(
      Array.from({ length: 5 }, (_, i) => ({ environment_id: 'prod', flow_id: 'orders', report_id: 'yesterday', error_key: `y-${i}`, trace_key: `Y-${i}`, message: 'Old failure', status: 'resolved', occurred_at: dayBefore, reported_at: dayBefore, resolved_at: dayBefore })),
    );
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'today', errors: [1, 2, 3].map((n) => ({ traceKey: `SO-${n}`, message: `Customer C-${n} not found` })) });
    await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: 24 * hour });
    await runCycleNow(herald.temporal, 'prod');
    const [digest] = await mail.waitFor(1, { to: 'orders-team@acme.test' });

    const page = await browser.newPage({ viewport: { width: 375, height: 900 } });
    await page.setContent(String(digest!.parsed.html), { waitUntil: 'load' });
    await saveScreenshot(page, `${artifacts}digest-trend-375.png`);
    const trend = await page.evaluate(() => {
      const table = document.querySelector('[data-trend]') as HTMLElement;
      const bars = Array.from(table.querySelectorAll('td[bgcolor]')).map((cell) => (cell as HTMLElement).getBoundingClientRect().height);
      const href = table.querySelector('a')!.getAttribute('href');
      return { words: table.innerText.replace(/\s+/g, ' ').trim(), bars, href, flow: (table.previousElementSibling as HTMLElement).innerText.replace(/\s+/g, ' ').trim() };
    });
    expect(trend.flow).toBe('Orders · Shop to ERP · 3 new');
    expect(trend.words).toBe('3 in the last 24 hours, falling (5 the day before)');
    // 24 hours: the three came in one of the last two (the cycle may have begun the next hour), the quiet ones a hairline.
    expect(trend.bars).toHaveLength(24);
    expect(trend.bars.filter((height) => height !== 1)).toEqual([24]);
    expect(trend.bars.indexOf(24)).toBeGreaterThanOrEqual(22);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.close();
    const line = /Orders \(Shop to ERP\) - 3 new\n {2}(\S{24}) 3 in the last 24 hours, falling \(5 the day before\): (\S+)\n/.exec(String(digest!.parsed.text));
    // The words lead to the flow's overview.
    expect(line?.[2]).toMatch(/\/environments\/prod\/overview\?flow=orders$/);
    expect(trend.href).toBe(line?.[2]);
    expect(line?.[1]).toMatch(/^·{22,23}█·?$/);
  });
});
