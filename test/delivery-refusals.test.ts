import { beforeEach, describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { testCatalog } from './helpers/world.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { applyCatalog } from '../catalog/catalog.js';
import { digestStatusQuery, runNowSignal } from '../workflows/environment-digest.js';

const minutes = (n: number) => n * 60_000;
const opsEmail = 'ops@acme.test';
const teamEmail = 'orders-team@acme.test';

describe('one refused recipient, and users who leave while a cycle waits', async () => {
  const retryLimitMs = minutes(30);
  const { env, db, mail, herald } = await startFixture({ herald: { deliveryRetryLimitMs: retryLimitMs, connectionGraceMs: 0 } });
  const digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: minutes(15) });
  const cycle = () => runCycleNow(herald.temporal, 'prod');
  const report = (traceKey: string) =>
    herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey, message: `Failure of ${traceKey}` }] });
  const deliveryOf = async (email: string, cycleNumber: number) =>
    db('notifications as d').whereNull('d.channel_id')
      .join('digest_cycles as c', 'c.id', 'd.cycle_id')
      .where({ 'd.recipient': email, 'c.number': cycleNumber, 'c.environment_id': 'prod' })
      .first('d.status', 'd.last_error', 'd.attempts', 'd.retry_at', 'd.cycle_id', 'd.user_id', 'd.public_id');

  beforeEach(async () => {
    await applyCatalog(db, testCatalog);
    mail.accept(opsEmail);
    mail.accept(teamEmail);
    mail.setOutage(false);
    await db('errors').whereIn('status', ['open', 'retrying']).update({ status: 'resolved', resolved_by: 'setup@acme.test', resolved_at: db.fn.now() });
    await cycle();
    // Whatever an earlier test deferred is settled, so each test counts only its own emails.
    await db('notifications').whereNull('channel_id').where({ status: 'pending' }).update({ status: 'failed', retry_at: null });
    mail.clear();
    mail.refusals.length = 0;
  });

  it('S34: a recipient refused for good after DATA (554) is failed at once; the others are emailed in the same cycle, and the next cycle runs on time', async () => {
    mail.refuseAt(teamEmail, 'data', 554);
    await report('SO-554');
    const summary = await cycle();
    expect(summary).toMatchObject({ emails: 2, sent: 1, failed: 1, deferred: 0 });
    expect(mail.to(opsEmail)).toHaveLength(1);
    expect(mail.to(teamEmail)).toHaveLength(0);
    const refused = await deliveryOf(teamEmail, summary.number);
    expect(refused).toMatchObject({ status: 'failed', attempts: 1 });
    expect(refused.last_error).toMatch(/554/);
    expect(mail.refusals).toEqual([`${teamEmail} data 554`]);

    // Not retried, and the next cycle comes at its time with the next error.
    await report('SO-555');
    await env.sleep(minutes(16));
    expect((await digest.query(digestStatusQuery)).lastCycle).toBe(summary.number + 1);
    expect(mail.to(opsEmail)).toHaveLength(2);
    expect(mail.refusals).toEqual([`${teamEmail} data 554`, `${teamEmail} data 554`]);
  });

  for (const stage of ['rcpt', 'data'] as const) {
    it(`S34: a recipient refused for now (451 at ${stage === 'rcpt' ? 'RCPT' : 'end of DATA'}) is deferred with backoff; nobody else waits, and it is emailed once the server takes it`, async () => {
      mail.refuseAt(teamEmail, stage, 451);
      await report(`SO-451-${stage}`);
      const summary = await cycle();
      expect(summary).toMatchObject({ emails: 2, sent: 1, failed: 0, deferred: 1 });
      expect(mail.to(opsEmail)).toHaveLength(1);
      const deferred = await deliveryOf(teamEmail, summary.number);
      expect(deferred.status).toBe('pending');
      expect(deferred.retry_at).toBeInstanceOf(Date);
      expect((await digest.query(digestStatusQuery)).nextRetryAt).toBe(deferred.retry_at.toISOString());

      // Tried again after a minute, then after two more: refused both times, still pending.
      await env.sleep(minutes(1) + 5_000);
      expect(mail.refusals).toHaveLength(2);
      await env.sleep(minutes(2) + 5_000);
      expect(mail.refusals).toHaveLength(3);
      expect((await deliveryOf(teamEmail, summary.number)).status).toBe('pending');

      // The server takes it now: the next attempt (four minutes later) sends it, once, as the digest of that cycle.
      mail.accept(teamEmail);
      await env.sleep(minutes(5));
      const received = mail.to(teamEmail);
      expect(received).toHaveLength(1);
      const installation = (await db('installation').first('id')).id as string;
      // The id its delivery has kept since it was planned (S49), as on every attempt.
      expect(deferred.public_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(received[0]!.parsed.messageId).toBe(`<digest.${deferred.public_id}@${installation}.herald>`);
      expect((await deliveryOf(teamEmail, summary.number)).status).toBe('sent');
      await env.sleep(minutes(20));
      expect(mail.to(teamEmail)).toHaveLength(1);
    });
  }

  it('S34: a recipient refused for now beyond HERALD_DELIVERY_RETRY_LIMIT is recorded as failed, and cycles go on meanwhile', async () => {
    mail.refuseAt(teamEmail, 'rcpt', 452);
    await report('SO-452');
    const summary = await cycle();
    expect(summary.deferred).toBe(1);
    await env.sleep(retryLimitMs + minutes(20));
    const delivery = await deliveryOf(teamEmail, summary.number);
    expect(delivery.status).toBe('failed');
    expect(delivery.last_error).toMatch(/452/);
    // Backing off 1, 2, 4, 8, 16 minutes: a handful of attempts in 30 minutes, not one a minute.
    expect(mail.refusals.length).toBeGreaterThanOrEqual(4);
    expect(mail.refusals.length).toBeLessThanOrEqual(7);
    expect(mail.to(teamEmail)).toHaveLength(0);
    // Cycles went on meanwhile: each at its time (with nothing new, each slept through: #40).
    expect(Date.parse((await digest.query(digestStatusQuery)).nextCycleAt)).toBeGreaterThan(Date.parse(summary.finishedAt) + retryLimitMs);
  });

  it('S34: a connection email refused for now is tried again by the environment digest and sent once', async () => {
    mail.refuseAt(opsEmail, 'rcpt', 451);
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ECONNREFUSED' });
    await env.sleep(5_000);
    expect(mail.refusals).toEqual([`${opsEmail} rcpt 451`]);
    mail.accept(opsEmail);
    await env.sleep(minutes(20));
    const received = mail.to(opsEmail).filter((m) => m.parsed.subject === 'Connection ERP API is offline');
    expect(received).toHaveLength(1);
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await env.sleep(5_000);
  });

  it('S38: a user removed, and one unsubscribed, while the cycle waits for the mail server get nothing of it', async () => {
    await applyCatalog(db, { users: [{ account: 'acme', email: 'clerk@acme.test', role: 'monitor' }], subscriptions: [{ environment: 'prod', user: 'clerk@acme.test', flows: ['orders'] }] });
    mail.setOutage(true);
    await report('SO-OUTAGE');
    await digest.signal(runNowSignal);
    await expect.poll(() => mail.refusedDuringOutage, { timeout: 20_000 }).toBeGreaterThan(0);
    const [fixed] = await db('digest_cycles').where({ environment_id: 'prod' }).orderBy('number', 'desc').limit(1).select('id', 'number');
    // Every email of the cycle has met the outage: none is still on its way to the server.
    await expect
      .poll(async () => (await db('notifications').whereNull('channel_id').where({ cycle_id: fixed.id }).where('attempts', '>', 0).count({ n: '*' }))[0]!.n, { timeout: 20_000 })
      .toBe(3);
    expect(await db('notifications').whereNull('channel_id').where({ cycle_id: fixed.id }).pluck('recipient')).toEqual(
      expect.arrayContaining([opsEmail, teamEmail, 'clerk@acme.test']),
    );

    // While it waits: the orders team leaves the account, ops stops following the shop's flows.
    await applyCatalog(db, {
      users: [{ account: 'acme', email: teamEmail, role: 'manage', removed: true }],
      subscriptions: [{ environment: 'prod', user: opsEmail, integrations: ['billing'], connections: ['erp'] }],
    });
    mail.setOutage(false);
    await env.sleep(minutes(2));
    expect(mail.to('clerk@acme.test')).toHaveLength(1);
    expect(mail.to(teamEmail)).toHaveLength(0);
    expect(mail.to(opsEmail)).toHaveLength(0);
    const outcomes = await db('notifications').whereNull('channel_id').where({ cycle_id: fixed.id }).orderBy('recipient').select('recipient', 'status', 'last_error');
    expect(outcomes.map((o) => [o.recipient, o.status])).toEqual([
      ['clerk@acme.test', 'sent'],
      [opsEmail, 'cancelled'],
      [teamEmail, 'cancelled'],
    ]);
    expect(outcomes[1].last_error).toMatch(/left the account or unsubscribed/);
    expect((await digest.query(digestStatusQuery)).lastSummary).toMatchObject({ number: fixed.number, sent: 1, cancelled: 2 });
  });
});
