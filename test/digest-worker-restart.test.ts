import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer } from './helpers/mail.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { applyCatalog } from '../catalog/catalog.js';
import { runNowSignal } from '../workflows/environment-digest.js';

// A file of its own: a send attempt abandoned by a stopping worker keeps a time-skipping lock
// in the test server, so time runs at wall-clock speed for the rest of this environment.
describe('a digest cycle across a worker restart', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const mail = await startTestMailServer();
  // Pages of two deliveries: the cycle's seven emails are read in four pages, ahead of sending.
  const first = await startHerald({ env, db, smtpUrl: mail.url, digestPageSize: 2 });
  const digest = await startDigest(first.temporal, first.taskQueue, {
    environment: 'prod',
    intervalMs: 15 * 60_000,
    sendHeartbeatTimeoutMs: 5_000,
  });

  it('S12: a worker stopped in the middle of a cycle, then restarted, sends the rest and no duplicate', async () => {
    const clerks = Array.from({ length: 6 }, (_, i) => ({ account: 'acme', email: `clerk${i}@acme.test`, role: 'monitor' as const }));
    await applyCatalog(db, {
      users: clerks,
      subscriptions: clerks.map((u) => ({ environment: 'prod', user: u.email, flows: ['invoices'] })),
    });
    await runCycleNow(first.temporal, 'prod');
    await first.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-12', message: 'Crash test' }] });

    // Two emails go through; the SMTP server then holds the others unanswered while the worker stops.
    mail.holdAfter(2);
    await digest.signal(runNowSignal);
    await expect.poll(() => mail.held, { timeout: 20_000 }).toBeGreaterThan(0);
    const stopping = first.stop();
    // Until the worker has stopped, each message its attempt tries is refused for now (421):
    // however long the stop takes to reach the attempt, it sends nothing more.
    mail.refuseHeld();
    await stopping;
    mail.releaseHeld();
    expect(mail.received).toHaveLength(2);
    expect(await db('notifications').whereNull('channel_id').where({ status: 'pending' }).count({ n: '*' })).toEqual([{ n: 5 }]);

    const second = await startHerald({ env, db, smtpUrl: mail.url, taskQueue: first.taskQueue, digestPageSize: 2 });
    await expect.poll(() => mail.received.length, { timeout: 90_000, interval: 500 }).toBe(7);
    const recipients = mail.received.map((m) => m.envelopeTo[0]);
    expect(new Set(recipients).size).toBe(7);
    // An email's mark is written after the mail server accepted it: the last marks follow the last email.
    await expect.poll(async () => Number((await db('notifications').whereNull('channel_id').where({ status: 'pending' }).count({ n: '*' }).first())!.n), { timeout: 30_000 }).toBe(0);
    expect(mail.received).toHaveLength(7);
    await second.stop();
  });
});
