import { describe, expect, it } from 'vitest';
import { startWorld } from './helpers/fixture.js';
import { randomBytes } from 'node:crypto';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { expectEachOnceButInFlight } from './helpers/mail.js';
import { applyCatalog } from '../catalog/catalog.js';
import { runNowSignal } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { HeraldClient } from '../client/index.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { workerProcesses } from './helpers/worker-processes.js';

// Its own file: a worker killed mid-activity leaves the test server's time lock to its heartbeat timeout.
describe('a worker process killed (SIGKILL) in the middle of a cycle', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db, url: databaseUrl, mail } = await startWorld();
  const taskQueue = `herald-crash-${randomBytes(4).toString('hex')}`;

  const workers = workerProcesses({ temporalAddress: env.address, databaseUrl, smtpUrl: mail.url, taskQueue });

  it('S33: the rest of the batch resumes within 30 s on a new worker; the only duplicates are emails in flight at the kill, with their first Message-ID', async () => {
    const clerks = Array.from({ length: 149 }, (_, i) => ({ account: 'acme', email: `clerk${i}@acme.test`, role: 'monitor' as const }));
    await applyCatalog(db, { users: clerks, subscriptions: clerks.map((u) => ({ environment: 'prod', user: u.email, flows: ['invoices'] })) });
    const expected = 150; // ops and the clerks follow invoices
    const first = await workers.start();
    const temporal = createTemporalClient(env.connection);
    const client = new HeraldClient({ temporal, taskQueue });
    await client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-KILL', message: 'Crash test' }] });
    // The digest the worker started, with the default heartbeat timeout (20 s), which is part of what is tested.
    const digest = temporal.workflow.getHandle(environmentDigestWorkflowId('prod'));

    mail.setDelay(150);
    await digest.signal(runNowSignal);
    await mail.waitFor(30, { timeoutMs: 30_000 });
    first.kill('SIGKILL');
    const killedAt = performance.now();
    const atKill = mail.received.length;
    await workers.start();

    // Emails in flight at the kill still arrive (the SMTP server accepts them); the pool has 5 connections.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const inFlight = mail.received.length - atKill;
    expect(inFlight).toBeLessThanOrEqual(5);
    await mail.waitFor(atKill + inFlight + 1, { timeoutMs: 30_000 });
    expect(performance.now() - killedAt).toBeLessThan(30_000);

    // In flight at the fault (on the pool's 5 connections): the only emails that can arrive twice.
    await expectEachOnceButInFlight(mail, db, expected);
    await digest.terminate();
  });
});
