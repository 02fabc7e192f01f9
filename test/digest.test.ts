import { beforeEach, describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { testCatalog } from './helpers/world.js';
import { rowsOf, runCycleNow, startDigest, summaryOf } from './helpers/digests.js';
import { createSnoozeStore } from '../stores/snooze-store.js';
import { applyCatalog } from '../catalog/catalog.js';
import { createErrorStore } from '../stores/error-store.js';
import { digestStatusQuery, remindNowUpdate, stopDigestSignal } from '../workflows/environment-digest.js';
import { HeraldEnvironment, HeraldOutcome } from '../workflows/run-labels.js';

const minutes = (n: number) => n * 60_000;

describe('error digests', async () => {
  const { env, db, mail, herald } = await startFixture();
  // No interval given: the digest follows the workers' configured interval (15 minutes here).
  const prodDigest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod' });
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: minutes(15) });
  const report = (flow: string, errors: { traceKey: string; message: string; code?: string; step?: string; fingerprint?: string; intermittent?: boolean }[], environment = 'prod') =>
    herald.client.reportErrors({ environment, flow, errors });
  const cycle = (environment = 'prod') => runCycleNow(herald.temporal, environment);

  beforeEach(async () => {
    // Each test starts with nothing pending: earlier errors resolved and announced, mail cleared.
    await db('errors').whereIn('status', ['open', 'retrying']).update({ status: 'resolved', resolved_by: 'setup@acme.test', resolved_at: db.fn.now() });
    await cycle('prod');
    await cycle('staging');
    mail.clear();
  });

  it('S7: every 15 minutes the digest emails each subscribed user whose flows have new errors', async () => {
    await report('orders', [
      { traceKey: 'SO-1001', message: 'Customer not found in ERP', code: 'NOT_FOUND', step: 'Import sales order' },
      { traceKey: 'SO-1002', message: 'Price list missing', code: 'VALIDATION' },
    ]);
    await report('invoices', [{ traceKey: 'INV-1', message: 'Tax code missing' }]);
    const before = await prodDigest.query(digestStatusQuery);
    await env.sleep(minutes(16));
    const after = await prodDigest.query(digestStatusQuery);
    expect(after.lastCycle).toBe(before.lastCycle + 1);
    expect(after.intervalMs).toBe(minutes(15));

    const ops = mail.to('ops@acme.test');
    const ordersTeam = mail.to('orders-team@acme.test');
    expect(ops).toHaveLength(1);
    expect(ordersTeam).toHaveLength(1);
    expect(mail.to('watcher@acme.test')).toHaveLength(0);
    expect(summaryOf(ops[0]!)).toEqual({ new: 3, resolved: 0, open: 3 });
    expect(summaryOf(ordersTeam[0]!)).toEqual({ new: 2, resolved: 0, open: 2 });
    const run = await prodDigest.describe();
    expect(run.typedSearchAttributes.get(HeraldEnvironment)).toBe('prod');
    expect(run.typedSearchAttributes.get(HeraldOutcome)).toBe('sent');
    expect((await run.memo)?.summary).toBe(`cycle ${after.lastCycle}: 3 new, 0 resolved, 2 emails sent`);

    // 15 minutes later, with nothing new and nothing resolved, the cycle runs no fix (#40) and nobody gets an email.
    await env.sleep(minutes(15));
    const quiet = await prodDigest.query(digestStatusQuery);
    expect(quiet.lastCycle).toBe(before.lastCycle + 1);
    expect(Date.parse(quiet.nextCycleAt)).toBeGreaterThan(Date.parse(after.nextCycleAt));
    expect(mail.received).toHaveLength(2);
  });

  it('S5, S7: an error still in its retry window is neither new nor open in a digest; the snoozed among the open are counted apart', async () => {
    await report('orders', [
      { traceKey: 'SO-W1', message: 'Timeout talking to ERP', intermittent: true },
      { traceKey: 'SO-W2', message: 'Customer not found in ERP' },
      { traceKey: 'SO-W3', message: 'Price list missing' },
    ]);
    expect(await db('errors').where({ trace_key: 'SO-W1' }).first('status')).toEqual({ status: 'retrying' });
    const [snoozedId] = await db('errors').where({ trace_key: 'SO-W3' }).pluck('id');
    await createSnoozeStore(db).snooze({ environment: 'prod', errorIds: [Number(snoozedId)], until: new Date(Date.now() + 86_400_000), user: 'ops@acme.test' }, new Date());
    await cycle();
    const [email] = mail.to('orders-team@acme.test');
    expect(summaryOf(email!)).toEqual({ new: 1, resolved: 0, open: 2 });
    expect(rowsOf(email!, 'new').join('\n')).not.toMatch(/SO-W1|SO-W3/);
    expect(email!.parsed.text).toMatch(/Open in total: 2 \(1 snoozed\)/);
  });

  it('S8: the email has the summary and the details of each new error, grouped by flow', async () => {
    await report('orders', [{ traceKey: 'SO-2001', message: 'Customer not found in ERP', code: 'NOT_FOUND', step: 'Import sales order' }]);
    await report('orders', [{ traceKey: 'SO-2002', message: 'Warehouse closed', code: 'CLOSED' }]);
    await cycle();
    const [email] = mail.to('orders-team@acme.test');
    expect(email!.parsed.subject).toBe('2 new errors in Acme flows');
    expect(summaryOf(email!)).toEqual({ new: 2, resolved: 0, open: 2 });
    const rows = rowsOf(email!, 'new');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/Customer not found in ERP Import sales order · code NOT_FOUND · trace key SO-2001 \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(String(email!.parsed.html)).toContain('Orders</a> <span class="muted">· Shop to ERP · 2 new</span>');
    expect(String(email!.parsed.html)).toContain('href="https://app.herald.test/environments/prod/flows/orders/errors"');
    expect(email!.parsed.text).toContain('Orders (Shop to ERP) - 2 new');
    expect(email!.parsed.text).toContain('* Warehouse closed');
  });

  it('S9: an error notified and then resolved is listed as resolved, to the users who were told of it', async () => {
    await report('orders', [{ traceKey: 'SO-3001', message: 'Credit limit exceeded' }]);
    await cycle();
    expect(mail.received.map((m) => m.envelopeTo[0]).sort()).toEqual(['ops@acme.test', 'orders-team@acme.test']);
    mail.clear();
    // The watcher subscribes only now: it was not told of the error, so it hears nothing of its resolution.
    await applyCatalog(db, { subscriptions: [{ environment: 'prod', user: 'watcher@acme.test', flows: ['orders'] }] });

    const [error] = await createErrorStore(db).listErrors({ environment: 'prod', traceKey: 'SO-3001' });
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [error!.id], user: 'ops@acme.test' });
    await cycle();
    expect(mail.received.map((m) => m.envelopeTo[0]).sort()).toEqual(['ops@acme.test', 'orders-team@acme.test']);
    const [email] = mail.to('orders-team@acme.test');
    expect(email!.parsed.subject).toBe('1 resolved in Acme flows');
    expect(summaryOf(email!)).toEqual({ new: 0, resolved: 1, open: 0 });
    expect(rowsOf(email!, 'resolved')[0]).toContain('Credit limit exceeded trace key SO-3001 resolved by ops@acme.test');
    await applyCatalog(db, { subscriptions: [{ environment: 'prod', user: 'watcher@acme.test' }] });
  });

  it('S9: an automatic resolution of a notified error is announced too', async () => {
    await report('orders', [{ traceKey: 'SO-3101', message: 'Timeout on lookup' }]);
    await cycle();
    mail.clear();
    await herald.client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['SO-3101'] });
    await cycle();
    const [email] = mail.to('orders-team@acme.test');
    expect(rowsOf(email!, 'resolved')[0]).toContain('auto-resolved: record succeeded');
  });

  it('S10: an error auto-resolved before any digest included it is never emailed', async () => {
    await report('orders', [{ traceKey: 'SO-4001', message: 'Duplicate order' }]);
    await herald.client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['SO-4001'] });
    await report('orders', [{ traceKey: 'SO-4002', message: 'Old error' }]);
    await report('orders', [{ traceKey: 'SO-4002', message: 'Superseding error' }]);
    await cycle();
    await cycle();
    const all = mail.received.map((m) => String(m.parsed.html)).join('\n');
    expect(all).not.toContain('SO-4001');
    expect(all).not.toContain('Old error');
    expect(all).toContain('Superseding error');
  });

  it('S10: an intermittent error that recovers at minute 3 is never emailed', async () => {
    await report('orders', [{ traceKey: 'SO-4101', message: 'Gateway timeout', code: '504' }]);
    await env.sleep(minutes(3));
    await herald.client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['SO-4101'] });
    await env.sleep(minutes(30));
    await cycle();
    expect(mail.received).toHaveLength(0);
  });

  it('S5: an intermittent error whose retry window closes is notified like any other', async () => {
    await report('orders', [{ traceKey: 'SO-4201', message: 'Gateway timeout', code: '504' }]);
    await cycle();
    expect(mail.received).toHaveLength(0); // retrying: in no digest
    await env.sleep(minutes(6));
    await cycle();
    expect(rowsOf(mail.to('orders-team@acme.test')[0]!, 'new')[0]).toContain('SO-4201');
  });

  it('S11: users with nothing new and nothing resolved get no email', async () => {
    await report('invoices', [{ traceKey: 'INV-11', message: 'Tax code missing' }]);
    await cycle();
    expect(mail.received.map((m) => m.envelopeTo[0])).toEqual(['ops@acme.test']);
  });

  it('S13: a non-production email names the environment in its subject; a production one does not', async () => {
    await report('staging-orders', [{ traceKey: 'ST-1', message: 'Sandbox failure' }], 'staging');
    await report('orders', [{ traceKey: 'SO-13', message: 'Production failure' }]);
    await cycle('staging');
    await cycle('prod');
    const subjects = mail.to('ops@acme.test').map((m) => m.parsed.subject);
    expect(subjects).toEqual(['[Staging] 1 new error in Acme flows', '1 new error in Acme flows']);
  });

  it('S16: subscriptions are per environment, and an integration subscription covers flows added later', async () => {
    await applyCatalog(db, { flows: [{ id: 'refunds', integration: 'shop', name: 'Refunds', autoResolve: true }] });
    await report('refunds', [{ traceKey: 'RF-1', message: 'Refund rejected' }]);
    await report('staging-orders', [{ traceKey: 'ST-16', message: 'Staging only' }], 'staging');
    await cycle('prod');
    await cycle('staging');
    expect(mail.to('ops@acme.test').map((m) => m.parsed.subject)).toEqual([
      '1 new error in Acme flows',
      '[Staging] 1 new error in Acme flows',
    ]);
    expect(rowsOf(mail.to('ops@acme.test')[0]!, 'new')[0]).toContain('RF-1');
    // orders-team follows one production flow only: nothing from staging, nothing from refunds.
    expect(mail.to('orders-team@acme.test')).toHaveLength(0);
  });

  it('S17: monitor users receive; removed users and removed subscriptions get nothing more', async () => {
    await applyCatalog(db, { subscriptions: [{ environment: 'prod', user: 'watcher@acme.test', integrations: ['billing'] }] });
    await report('invoices', [{ traceKey: 'INV-17', message: 'Tax code missing' }]);
    await cycle();
    expect(mail.received.map((m) => m.envelopeTo[0]).sort()).toEqual(['ops@acme.test', 'watcher@acme.test']);
    mail.clear();

    await applyCatalog(db, {
      users: [{ ...testCatalog.users[2]!, removed: true }],
      subscriptions: [{ environment: 'prod', user: 'ops@acme.test', integrations: ['shop'], connections: ['erp'] }],
    });
    await report('invoices', [{ traceKey: 'INV-18', message: 'Tax code missing' }]);
    await cycle();
    expect(mail.received).toHaveLength(0);
    await applyCatalog(db, {
      users: [testCatalog.users[2]!],
      subscriptions: [
        { environment: 'prod', user: 'ops@acme.test', integrations: ['shop', 'billing'], connections: ['erp'] },
        { environment: 'prod', user: 'watcher@acme.test' },
      ],
    });
  });

  it('S19: text from errors is escaped and cannot inject markup, links or headers; long text is cut', async () => {
    await report('orders', [
      {
        traceKey: 'SO-19\r\nBcc: attacker@evil.test',
        message: `<script>alert(1)</script><a href="https://evil.test">click</a> ${'x'.repeat(600)}`,
        code: '<b>E</b>',
      },
    ]);
    await cycle();
    const [email] = mail.to('orders-team@acme.test');
    const html = String(email!.parsed.html);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('href="https://evil.test"');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;E&lt;/b&gt;');
    expect(html).toContain('… [cut]');
    expect(email!.parsed.headers.has('bcc')).toBe(false);
    expect(email!.raw).not.toMatch(/^Bcc:/im);
    expect(mail.received.flatMap((m) => m.envelopeTo)).not.toContain('attacker@evil.test');
  });

  it('S20: a digest with very many errors caps its details with "and N more" and keeps exact counts', async () => {
    // 130 errors that do not group (S42): their messages differ in words, not only in numbers.
    const errors = Array.from({ length: 130 }, (_, i) => ({ traceKey: `BULK-${i}`, message: `Row ${lettersOf(i)} rejected` }));
    await report('orders', errors);
    await cycle();
    const [email] = mail.to('orders-team@acme.test');
    expect(summaryOf(email!)).toEqual({ new: 130, resolved: 0, open: 130 });
    expect(rowsOf(email!, 'new')).toHaveLength(50);
    expect(String(email!.parsed.html)).toContain('and 80 more new errors');
    expect(email!.raw.length).toBeLessThan(200_000);
  });

  it('S42: errors of a flow that differ only in ids read as one line with an exact count, first and last seen, examples and a link to the group', async () => {
    const similar = Array.from({ length: 412 }, (_, i) => ({ traceKey: `SO-${5000 + i}`, message: `Customer ${1234 + i} not found in ERP`, code: 'NOT_FOUND' }));
    await report('orders', [...similar, { traceKey: 'SO-9001', message: 'Price list missing' }]);
    // A flow's own fingerprint groups messages that differ in words too.
    await report('orders', [
      { traceKey: 'SO-9101', message: 'ERP answered 503', fingerprint: 'erp-unavailable' },
      { traceKey: 'SO-9102', message: 'ERP gateway timed out', fingerprint: 'erp-unavailable' },
    ]);
    await cycle();
    const [email] = mail.to('orders-team@acme.test');
    expect(summaryOf(email!)).toEqual({ new: 415, resolved: 0, open: 415 });
    const rows = rowsOf(email!, 'new');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^412 × Customer ‹id› not found in ERP latest: Customer 1645 not found in ERP code NOT_FOUND · trace keys SO-5000 , SO-5001 , SO-5002 … first .+ last .+$/);
    expect(rows[1]).toMatch(/^Price list missing .*trace key SO-9001/);
    expect(rows[2]).toMatch(/^2 × ERP answered 503 latest: ERP gateway timed out trace keys SO-9101 , SO-9102 first/);
    const html = String(email!.parsed.html);
    expect(html).not.toContain('more new errors');
    const groupLink = /<a href="([^"]+)">412 ×/.exec(html)![1]!;
    const fingerprint = (await db('errors').where({ trace_key: 'SO-5000' }).first('fingerprint')).fingerprint as string;
    expect(fingerprint).toMatch(/^auto:[0-9a-f]{32}$/);
    expect(new URL(groupLink.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&')).searchParams.get('group')).toBe(fingerprint);
    expect(String(email!.parsed.text)).toContain('412 × Customer ‹id› not found in ERP\n    latest: Customer 1645 not found in ERP');
    expect(Number((await db('errors').where({ fingerprint }).count({ n: '*' }).first())!.n)).toBe(412);
  });

  it('S12: an SMTP server that refuses for an hour, then accepts, gets every digest once', async () => {
    await report('orders', [{ traceKey: 'SO-12', message: 'Sent late, not dropped' }]);
    mail.setOutage(true);
    const pending = cycle();
    await env.sleep(minutes(60));
    expect(mail.refusedDuringOutage).toBeGreaterThan(2);
    expect(mail.received).toHaveLength(0);
    mail.setOutage(false);
    await env.sleep(minutes(10));
    const summary = await pending;
    expect(summary).toMatchObject({ emails: 2, sent: 2, failed: 0 });
    expect(mail.received.map((m) => m.envelopeTo[0]).sort()).toEqual(['ops@acme.test', 'orders-team@acme.test']);
  });

  it('S12: a refused recipient is recorded as failed and not retried; the others are delivered', async () => {
    mail.refuseRecipient('orders-team@acme.test');
    await report('orders', [{ traceKey: 'SO-12b', message: 'Bounce' }]);
    const summary = await cycle();
    expect(summary).toMatchObject({ emails: 2, sent: 1, failed: 1 });
    const failed = await db('notifications').whereNull('channel_id').where({ recipient: 'orders-team@acme.test', status: 'failed' }).first();
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toContain('No such mailbox');
    expect(mail.to('ops@acme.test')).toHaveLength(1);
  });

  it('S12: the digest continues as new with its state, and still emails each user once per cycle', async () => {
    await applyCatalog(db, {
      environments: [{ id: 'prod-can', account: 'acme', name: 'Production EU', production: true }],
      integrations: [{ id: 'eu-shop', environment: 'prod-can', name: 'EU shop' }],
      flows: [{ id: 'eu-orders', integration: 'eu-shop', name: 'EU orders' }],
      subscriptions: [{ environment: 'prod-can', user: 'ops@acme.test', flows: ['eu-orders'] }],
    });
    const handle = await startDigest(herald.temporal, herald.taskQueue, {
      environment: 'prod-can',
      intervalMs: minutes(15),
      cyclesPerRun: 2,
    });
    const firstRun = (await handle.describe()).runId;
    for (let i = 1; i <= 3; i++) {
      await herald.client.reportErrors({ environment: 'prod-can', flow: 'eu-orders', errors: [{ traceKey: `EU-${i}`, message: 'x' }] });
      await env.sleep(minutes(16));
    }
    const status = await herald.temporal.workflow.getHandle('digest/prod-can').query(digestStatusQuery);
    expect(status.lastCycle).toBe(3);
    expect((await herald.temporal.workflow.getHandle('digest/prod-can').describe()).runId).not.toBe(firstRun);
    expect(mail.to('ops@acme.test').map((m) => rowsOf(m, 'new').length)).toEqual([1, 1, 1]);
  });

  /**
   * An environment of its own (production) with one flow that ops@ follows, its digest started,
   * and one error reported there; sending is slowed so that requests can arrive during a cycle.
   */
  const slowDigestWithOneError = async (name: string, digest: { cyclesPerRun?: number } = {}) => {
    const environment = `prod-${name}`;
    await applyCatalog(db, {
      environments: [{ id: environment, account: 'acme', name: `Production ${name}`, production: true }],
      integrations: [{ id: `${name}-shop`, environment, name: `${name} shop` }],
      flows: [{ id: `${name}-orders`, integration: `${name}-shop`, name: `${name} orders` }],
      subscriptions: [{ environment, user: 'ops@acme.test', flows: [`${name}-orders`] }],
    });
    const handle = await startDigest(herald.temporal, herald.taskQueue, { environment, intervalMs: minutes(15), ...digest });
    await herald.client.reportErrors({ environment, flow: `${name}-orders`, errors: [{ traceKey: `${name}-1`, message: 'x' }] });
    mail.setDelay(1_500);
    /** Asks for a cycle, and waits until it runs. */
    const runningCycle = async () => {
      const cycle = runCycleNow(herald.temporal, environment);
      await expect.poll(async () => (await handle.query(digestStatusQuery)).state, { timeout: 10_000, interval: 50 }).toBe('running cycle');
      return cycle;
    };
    /** Waits until the digest has taken in what it was sent. */
    const settled = () => expect.poll(async () => (await handle.describe()).raw.pendingWorkflowTask ?? null, { timeout: 5_000, interval: 50 }).toBeNull();
    return { environment, handle, runningCycle, settled };
  };
  /** What these settle to, within 20 s; else fails naming what hung. */
  const settledWithin20s = <T extends readonly unknown[]>(promises: T, hung: string) =>
    Promise.race([
      Promise.allSettled(promises),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(hung)), 20_000)),
    ]);

  it('S31: a remind-now request that comes with a stop request is answered before the digest ends', async () => {
    const { handle, runningCycle, settled } = await slowDigestWithOneError('stop');
    try {
      // Both requests arrive while a cycle sends: the stop ends the digest after it, the look first.
      const cycle = await runningCycle();
      const remind = handle.executeUpdate(remindNowUpdate);
      await settled();
      await handle.signal(stopDigestSignal);
      await cycle;
      const [round, result] = await settledWithin20s([remind, handle.result()], 'the digest never answered the remind-now request, nor ended');
      expect(round).toMatchObject({ status: 'fulfilled', value: { planned: 0, sent: 0 } });
      expect(result).toMatchObject({ status: 'fulfilled' });
    } finally {
      mail.setDelay(0);
    }
  });

  it('S12: a run-now request still waiting for its cycle when the digest is stopped is refused, naming the stop; a remind-now request with it is answered; the digest ends', async () => {
    const { handle, runningCycle, settled } = await slowDigestWithOneError('halt');
    try {
      // During a cycle: a second run-now request (for the cycle after it), a remind-now request, then the stop.
      const first = await runningCycle();
      const second = runCycleNow(herald.temporal, 'prod-halt');
      const remind = handle.executeUpdate(remindNowUpdate);
      await settled();
      await handle.signal(stopDigestSignal);
      const [cycle, refused, round, result] = await settledWithin20s([first, second, remind, handle.result()], 'the digest left a request unanswered, or never ended');
      expect(cycle).toMatchObject({ status: 'fulfilled', value: { sent: 1 } });
      expect(refused).toMatchObject({ status: 'rejected', reason: { cause: { message: expect.stringMatching(/the digest of prod-halt was stopped before cycle \d+ ran/) } } });
      expect(round).toMatchObject({ status: 'fulfilled', value: { planned: 0, sent: 0 } });
      expect(result).toMatchObject({ status: 'fulfilled' });
      expect(await db('notifications').whereNull('channel_id').where({ environment_id: 'prod-halt', kind: 'digest' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    } finally {
      mail.setDelay(0);
    }
  });

  it('S12: a run-now request that arrives during the last cycle of a run is answered by the next run', async () => {
    // One cycle per run: every cycle ends by continuing as new.
    const { runningCycle } = await slowDigestWithOneError('one', { cyclesPerRun: 1 });
    try {
      const first = await runningCycle();
      // Asked while a cycle sends: answered by the cycle after it, which the next run must hold.
      const second = runCycleNow(herald.temporal, 'prod-one');
      const [firstSummary, secondSummary] = await settledWithin20s([first, second], 'the second run-now request was never answered');
      expect(firstSummary.status).toBe('fulfilled');
      const firstNumber = (firstSummary as PromiseFulfilledResult<{ number: number }>).value.number;
      expect(secondSummary).toMatchObject({ status: 'fulfilled', value: { number: firstNumber + 1 } });
    } finally {
      mail.setDelay(0);
    }
  });
});

/** A number as letters (0 → a, 26 → ba): words that differ without a digit. */
function lettersOf(n: number): string {
  return n.toString(26).replace(/[0-9a-p]/g, (digit) => String.fromCharCode(97 + parseInt(digit, 26)));
}
