import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { startHerald } from './helpers/herald.js';
import { applyCatalog } from '../catalog/catalog.js';
import { HeraldInputError } from '../client/index.js';
import { connectionStatus, connectionStatusQuery } from '../workflows/connection-status.js';

const seconds = (n: number) => n * 1_000;

describe('connection status notifications', async () => {
  const { env, db, mail, herald } = await startFixture({
    also: [
      {
        integrations: [{ id: 'warehouse', environment: 'prod', name: 'Warehouse' }],
        connections: [{ id: 'sftp', environment: 'prod', name: 'Warehouse SFTP' }],
        flows: [{ id: 'picking', integration: 'warehouse', name: 'Pick lists', connections: ['erp', 'sftp'] }],
        subscriptions: [{ environment: 'prod', user: 'watcher@acme.test', connections: ['erp', 'sftp'] }],
        environments: [
          { id: 'legacy-prod', account: 'acme', name: 'Production', production: true },
          { id: 'legacy-sandbox', account: 'acme', name: 'Sandbox', production: false, sharesResourcesWith: 'legacy-prod' },
        ],
      },
      {
        connections: [{ id: 'legacy-api', environment: 'legacy-sandbox', name: 'Legacy API' }],
        integrations: [{ id: 'legacy-sync', environment: 'legacy-sandbox', name: 'Legacy sync' }],
        flows: [{ id: 'legacy-flow', integration: 'legacy-sync', name: 'Legacy flow', connections: ['legacy-api'] }],
        subscriptions: [
          { environment: 'legacy-prod', user: 'orders-team@acme.test', connections: ['legacy-api'] },
          { environment: 'legacy-sandbox', user: 'watcher@acme.test', connections: ['legacy-api'] },
        ],
      },
    ],
    herald: { connectionGraceMs: seconds(60) },
  });
  const report = (connection: string, status: 'online' | 'offline', environment = 'prod', reason?: string) =>
    herald.client.reportConnectionStatus({ environment, connection, status, reason });

  it('S14: an offline that lasts past the grace period, and the recovery, each email the subscribers once', async () => {
    mail.clear();
    expect(await report('erp', 'offline', 'prod', 'ECONNREFUSED 10.0.0.7:443')).toEqual({ changed: true });
    expect(await report('erp', 'offline', 'prod', 'still down')).toEqual({ changed: false });
    await env.sleep(seconds(30));
    expect(mail.received).toHaveLength(0);
    await env.sleep(seconds(60));
    const offline = await mail.waitFor(2);
    expect(offline.map((m) => m.envelopeTo[0]).sort()).toEqual(['ops@acme.test', 'watcher@acme.test']);
    const [email] = mail.to('ops@acme.test');
    expect(email!.parsed.subject).toBe('Connection ERP API is offline');
    const html = String(email!.parsed.html);
    expect(html).toContain('data-status="offline"');
    expect(html).toContain('ECONNREFUSED 10.0.0.7:443');
    expect(email!.parsed.text).toContain('Connection ERP API is offline since');

    mail.clear();
    await report('erp', 'online');
    const online = await mail.waitFor(2);
    expect(online.map((m) => m.parsed.subject)).toEqual(['Connection ERP API is back online', 'Connection ERP API is back online']);
    await expect
      .poll(() => herald.temporal.workflow.getHandle('connection/erp').query(connectionStatusQuery))
      .toMatchObject({ notified: 'online', sequence: 2, current: { status: 'online' } });
  });

  it('S14: an offline that recovers within the grace period sends nothing', async () => {
    mail.clear();
    await report('erp', 'offline', 'prod', 'blip');
    await env.sleep(seconds(20));
    await report('erp', 'online');
    await env.sleep(seconds(120));
    expect(mail.received).toHaveLength(0);
  });

  it('S15: a connection shared by three integrations sends one email per subscriber per change', async () => {
    mail.clear();
    await report('erp', 'offline', 'prod', 'maintenance');
    await env.sleep(seconds(90));
    await mail.waitFor(2);
    expect(mail.to('ops@acme.test')).toHaveLength(1);
    const html = String(mail.to('ops@acme.test')[0]!.parsed.html);
    expect([...html.matchAll(/<li data-integration>/g)]).toHaveLength(3);
    expect(html).toContain('Shop to ERP: Customers, Orders');
    expect(html).toContain('Warehouse: Pick lists');
    await report('erp', 'online');
    await mail.waitFor(4);
    expect(mail.received).toHaveLength(4);
  });

  it('S18: in a legacy pair the connection is one resource; subscribers of each environment are told, by name', async () => {
    mail.clear();
    await report('legacy-api', 'offline', 'legacy-prod', 'certificate expired');
    await env.sleep(seconds(90));
    await mail.waitFor(2);
    expect(mail.to('orders-team@acme.test')[0]!.parsed.subject).toBe('Connection Legacy API is offline');
    expect(mail.to('watcher@acme.test')[0]!.parsed.subject).toBe('[Sandbox] Connection Legacy API is offline');
    // Reported from the other environment of the pair, it is the same connection: a repeat.
    expect(await report('legacy-api', 'offline', 'legacy-sandbox')).toEqual({ changed: false });
  });

  it('S2: a report of an unknown connection, or of one in another environment, is refused by name', async () => {
    const unknown = await report('nope', 'offline').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(HeraldInputError);
    expect((unknown as HeraldInputError).problems).toEqual([{ field: 'connection', message: 'unknown connection "nope" in environment "prod"' }]);
    const elsewhere = await report('staging-erp', 'offline').catch((e: unknown) => e);
    expect((elsewhere as HeraldInputError).problems[0]?.field).toBe('connection');
    const bad = await herald.client
      .reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'down' as 'offline' })
      .catch((e: unknown) => e);
    expect((bad as HeraldInputError).problems).toEqual([{ field: 'status', message: 'must be "online" or "offline"' }]);
  });

  it('S19: a reason is escaped in the email', async () => {
    mail.clear();
    await report('staging-erp', 'offline', 'staging', '<img src=x onerror=alert(1)>');
    await env.sleep(seconds(90));
    const [email] = await mail.waitFor(1);
    expect(email!.parsed.subject).toBe('[Staging] Connection ERP API (staging) is offline');
    expect(String(email!.parsed.html)).not.toMatch(/<img src/i);
    expect(String(email!.parsed.html)).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  });

  it('continues as new after its budget of reports, keeping the status and an offline still in its grace period', async () => {
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'printing@acme.test', role: 'monitor' }],
      connections: [{ id: 'printer', environment: 'prod', name: 'Label printer' }],
      subscriptions: [{ environment: 'prod', user: 'printing@acme.test', connections: ['printer'] }],
    });
    const first = await herald.temporal.workflow.start(connectionStatus, {
      workflowId: 'connection/printer',
      taskQueue: herald.taskQueue,
      args: [{ connection: 'printer', reportsPerRun: 2 }],
    });
    mail.clear();
    expect(await report('printer', 'offline', 'prod', 'Authentication failed')).toEqual({ changed: true });
    // The second report spends the budget: the run continues as new, the offline not yet due.
    expect(await report('printer', 'offline')).toEqual({ changed: false });
    await env.sleep(seconds(90));
    const [offline] = await mail.waitFor(1);
    expect(offline!.parsed.subject).toBe('Connection Label printer is offline');
    expect(offline!.envelopeTo).toEqual(['printing@acme.test']);

    const handle = herald.temporal.workflow.getHandle('connection/printer');
    expect((await handle.describe()).runId).not.toBe(first.firstExecutionRunId);
    expect(await handle.query(connectionStatusQuery)).toMatchObject({ current: { status: 'offline', reason: 'Authentication failed' }, notified: 'offline', sequence: 1 });

    expect(await report('printer', 'online')).toEqual({ changed: true });
    const emails = await mail.waitFor(2);
    expect(emails.map((m) => m.parsed.subject)).toEqual(['Connection Label printer is offline', 'Connection Label printer is back online']);
    expect(await db('connection_events').where({ connection_id: 'printer' }).orderBy('sequence').pluck('status')).toEqual(['offline', 'online']);
  });

  // Kept last: after this test stops its second worker, timers in this test server ran at
  // wall-clock speed (a later 90-second sleep timed out), as after other abandoned work.
  it('S14: with a grace period of 0, every change is emailed at once, a recovery reported while the offline email is being sent too', async () => {
    const noGrace = await startHerald({ env, db, smtpUrl: mail.url, connectionGraceMs: 0 });
    mail.clear();
    const report = (status: 'online' | 'offline') =>
      noGrace.client.reportConnectionStatus({ environment: 'prod', connection: 'sftp', status, reason: 'probe' });
    await report('offline');
    await mail.waitFor(1);
    await report('online');
    await mail.waitFor(2);
    expect(mail.received.map((m) => m.parsed.subject)).toEqual([
      'Connection Warehouse SFTP is offline',
      'Connection Warehouse SFTP is back online',
    ]);

    // A slow mail server: the next offline's email is on its way (its change recorded, its sending
    // not yet answered) when the recovery comes; the recovery is emailed too.
    mail.clear();
    mail.setDelay(3_000);
    const events = async () => Number((await db('connection_events').where({ connection_id: 'sftp' }).count({ n: '*' }))[0]!.n);
    const before = await events();
    await report('offline');
    await expect.poll(events, { timeout: 10_000, interval: 20 }).toBe(before + 1);
    expect(mail.received).toEqual([]);
    await report('online');
    mail.setDelay(0);
    await mail.waitFor(2);
    expect(mail.received.map((m) => m.parsed.subject)).toEqual([
      'Connection Warehouse SFTP is offline',
      'Connection Warehouse SFTP is back online',
    ]);
    await noGrace.stop();
  });
});
