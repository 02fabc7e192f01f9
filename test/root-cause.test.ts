import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import type { ReceivedMail } from './helpers/mail.js';
import { rowsOf, runCycleNow, startDigest, summaryOf } from './helpers/digests.js';

const minutes = (n: number) => n * 60_000;

describe('root cause first (S30)', async () => {
  const { env, mail, herald } = await startFixture();
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: minutes(60 * 24) });
  const offlineLines = (message: ReceivedMail) =>
    [...String(message.parsed.html).matchAll(/<p data-offline="[^"]+">([\s\S]*?)<\/p>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim());
  const digestTo = (to: string) => mail.to(to).find((m) => /new error/.test(m.parsed.subject ?? ''));

  it('S30: while a connection is offline, the new errors of its flows are one line per connection, with exact counts', async () => {
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ECONNREFUSED' });
    await env.sleep(minutes(2)); // past the grace period: the outage is recorded (and emailed)
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-1', message: 'ERP unreachable' }, { traceKey: 'SO-2', message: 'ERP unreachable' }] });
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-1', message: 'ERP unreachable' }] });
    mail.clear();
    await runCycleNow(herald.temporal, 'prod');

    const ops = digestTo('ops@acme.test')!;
    expect(summaryOf(ops)).toMatchObject({ new: 3 });
    expect(offlineLines(ops)).toEqual([expect.stringMatching(/^3 errors in 2 flows using ERP API while it was offline since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/)]);
    expect(rowsOf(ops, 'new')).toEqual([]);
    expect(String(ops.parsed.html)).not.toContain('SO-1');
    expect(ops.parsed.text).toContain('3 errors in 2 flows using ERP API while it was offline since');
    expect(String(ops.parsed.html)).not.toMatch(/data-more="new"/);
    // Each user's line counts the flows they follow.
    expect(offlineLines(digestTo('orders-team@acme.test')!)).toEqual([expect.stringMatching(/^2 errors in 1 flow using ERP API /)]);
  });

  it('S30: errors reported after the connection is back online are listed as usual', async () => {
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await env.sleep(minutes(1));
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-3', message: 'Customer not found' }] });
    mail.clear();
    await runCycleNow(herald.temporal, 'prod');
    const ops = digestTo('ops@acme.test')!;
    expect(offlineLines(ops)).toEqual([]);
    expect(rowsOf(ops, 'new')).toEqual([expect.stringContaining('SO-3')]);
  });

  it('S30: the offline email says how many errors the connection\'s flows have had since it went offline', async () => {
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ETIMEDOUT' });
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-4', message: 'ERP timeout' }, { traceKey: 'SO-5', message: 'ERP timeout' }] });
    mail.clear();
    await env.sleep(minutes(2)); // the grace period ends: the outage is emailed
    const [offline] = await mail.waitFor(1, { to: 'ops@acme.test' });
    expect(offline!.parsed.subject).toBe('Connection ERP API is offline');
    expect(String(offline!.parsed.html)).toMatch(/data-errors-since[^>]*>Its flows have had 2 errors since it went offline/);
    expect(offline!.parsed.text).toContain('Its flows have had 2 errors since it went offline');
  });
});
