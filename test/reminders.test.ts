import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { startDigest } from './helpers/digests.js';
import { remindNowUpdate } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { applyCatalog } from '../catalog/catalog.js';
import { createErrorStore } from '../stores/error-store.js';
import { createReminderStore } from '../stores/reminder-store.js';

const minutes = (n: number) => n * 60_000;
const hours = (n: number) => n * 60 * 60_000;
const days = (n: number) => hours(24 * n);

describe('reminders of errors left open (S31)', async () => {
  const { env, db, mail, herald } = await startFixture({
    // Staging reminds after a day; production keeps the default, 3 days.
    also: [{ environments: [{ id: 'staging', account: 'acme', name: 'Staging', production: false, remindAfter: '1 day' }] }],
  });
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
    // The digest looks next when those reminded may be reminded again: a day after the first of them (#40), not hourly.
    const nextLook = async () => createReminderStore(db).nextLook('prod', new Date(await env.currentTimeMs()));
    const earliest = await db('notifications').whereNull('channel_id').where({ kind: 'reminder', environment_id: 'prod' }).min({ at: 'planned_at' }).first();
    expect(await nextLook()).toEqual(new Date(earliest!.at.getTime() + days(1)));

    await env.sleep(days(1));
    expect(reminders('orders-team@acme.test')).toHaveLength(2); // one more day, one more reminder: never two in a day
    const [error] = await createErrorStore(db).listErrors({ environment: 'prod', flow: 'orders' });
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [error!.id], user: 'ops@acme.test' });
    await env.sleep(days(2));
    expect(reminders('orders-team@acme.test')).toHaveLength(2);
    // Nothing open: no look until news.
    expect(await nextLook()).toBeNull();
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

  it('S31: asked to remind now, the digest looks at once, and still reminds each user once a day at most', async () => {
    await applyCatalog(db, {
      environments: [{ id: 'qa', account: 'acme', name: 'QA', production: false, remindAfter: '2 minutes' }],
      integrations: [{ id: 'qa-shop', environment: 'qa', name: 'QA shop' }],
      flows: [{ id: 'qa-orders', integration: 'qa-shop', name: 'QA orders' }],
      subscriptions: [{ environment: 'qa', user: 'watcher@acme.test', flows: ['qa-orders'] }],
    });
    const digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'qa', intervalMs: hours(1) });
    await herald.client.reportErrors({ environment: 'qa', flow: 'qa-orders', errors: [{ traceKey: 'QA-31', message: 'Left open' }] });
    const remindNow = () => herald.temporal.workflow.getHandle(environmentDigestWorkflowId('qa')).executeUpdate(remindNowUpdate);
    const qaReminders = () => reminders('watcher@acme.test').filter((m) => m.parsed.subject!.startsWith('[QA]'));

    expect(await remindNow()).toMatchObject({ planned: 0, sent: 0 }); // open for less than 2 minutes
    await env.sleep(minutes(3));
    expect(await remindNow()).toMatchObject({ planned: 1, sent: 1, failed: 0 });
    expect(qaReminders().map((m) => m.parsed.subject)).toEqual(['[QA] 1 error still open in Acme flows']);
    expect(String(qaReminders()[0]!.parsed.html)).toContain('QA-31');
    // Asked again the same day, twice at once: nobody is reminded twice.
    const [again, once] = await Promise.all([remindNow(), remindNow()]);
    expect(again).toMatchObject({ planned: 0, sent: 0 });
    expect(once).toMatchObject({ planned: 0, sent: 0 });
    expect(qaReminders()).toHaveLength(1);
    expect((await digest.describe()).status.name).toBe('RUNNING');
  });
});
