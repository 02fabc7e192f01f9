import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import { startTestMailServer } from './helpers/mail.js';
import { startDigest } from './helpers/digests.js';
import { applyCatalog } from '../catalog/catalog.js';

const hours = (n: number) => n * 60 * 60_000;
const days = (n: number) => hours(24 * n);

describe('reminders of errors left open (S31)', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  // Staging reminds after a day; production keeps the default, 3 days.
  await applyCatalog(db, { environments: [{ id: 'staging', account: 'acme', name: 'Staging', production: false, remindAfter: '1 day' }] });
  const mail = await startTestMailServer();
  const herald = await startHerald({ env, db, smtpUrl: mail.url });
  const reminders = (to: string) => mail.to(to).filter((m) => /still open/.test(m.parsed.subject ?? ''));
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: hours(1) });
  await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-31', message: 'Customer not found' }] });

  it('S31: an error open longer than the threshold is listed once a day to those who follow its flow, until resolved', async () => {
    await env.sleep(days(2));
    expect(reminders('orders-team@acme.test')).toHaveLength(0); // open 2 days: under the threshold
    await env.sleep(days(1.5));
    expect(reminders('orders-team@acme.test')).toHaveLength(1);
    const [first] = reminders('orders-team@acme.test');
    expect(first!.parsed.subject).toBe('1 error still open in Acme flows');
    expect(String(first!.parsed.html)).toContain('SO-31');
    expect(String(first!.parsed.html)).toContain('Open for more than 3 days');
    expect(reminders('ops@acme.test')).toHaveLength(1); // follows the shop integration
    expect(reminders('watcher@acme.test')).toHaveLength(0); // follows nothing here

    await env.sleep(days(1));
    expect(reminders('orders-team@acme.test')).toHaveLength(2); // one more day, one more reminder: never two in a day
    const [error] = await herald.client.listErrors({ environment: 'prod', flow: 'orders' });
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [error!.id], user: 'ops@acme.test' });
    await env.sleep(days(2));
    expect(reminders('orders-team@acme.test')).toHaveLength(2);
  });

  it('S31: each environment has its own threshold, set in the catalog', async () => {
    await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: hours(1) });
    await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'ST-31', message: 'Sandbox failure' }] });
    await env.sleep(hours(12));
    expect(reminders('ops@acme.test').filter((m) => m.parsed.subject!.startsWith('[Staging]'))).toHaveLength(0);
    await env.sleep(hours(14));
    const staging = reminders('ops@acme.test').filter((m) => m.parsed.subject!.startsWith('[Staging]'));
    expect(staging.map((m) => m.parsed.subject)).toEqual(['[Staging] 1 error still open in Acme flows']);
    expect(String(staging[0]!.parsed.html)).toContain('Open for more than 1 day');
  });
});
