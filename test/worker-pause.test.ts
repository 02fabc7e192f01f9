import { describe, expect, it } from 'vitest';
import { startWorld } from './helpers/fixture.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { expectEachOnceButInFlight, type ReceivedMail } from './helpers/mail.js';
import { applyCatalog } from '../catalog/catalog.js';
import { runNowSignal } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { HeraldClient } from '../client/index.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { connectionPorts, workerProcesses } from './helpers/worker-processes.js';
import { claimFreshMs } from '../notifications/send.js';

// Its own file: a paused worker's attempt holds the test server's time lock until its heartbeat times out.
describe('a worker process paused (SIGSTOP) past the heartbeat timeout in the middle of a cycle, then resumed', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db, url: databaseUrl, mail } = await startWorld();
  const taskQueue = 'herald-pause';
  const workers = workerProcesses({ temporalAddress: env.address, databaseUrl, smtpUrl: mail.url, taskQueue });

  it('S44, S33: the second worker takes over; the paused one sends nothing after the takeover, even resumed, and the only duplicates are emails in flight at the pause', async () => {
    const clerks = Array.from({ length: 149 }, (_, i) => ({ account: 'acme', email: `clerk${i}@acme.test`, role: 'monitor' as const }));
    await applyCatalog(db, { users: clerks, subscriptions: clerks.map((u) => ({ environment: 'prod', user: u.email, flows: ['invoices'] })) });
    const expected = 150; // ops and the clerks follow invoices
    const paused = await workers.start();
    const temporal = createTemporalClient(env.connection);
    await new HeraldClient({ temporal, taskQueue }).reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-PAUSE', message: 'Pause test' }] });
    // The digest the worker started, with the default heartbeat timeout (20 s).
    const digest = temporal.workflow.getHandle(environmentDigestWorkflowId('prod'));

    // Which emails the first worker sent: those begun on a connection it held then (a port it
    // closed may be the other worker's later), sampled every 100 ms.
    const mailPort = Number(new URL(mail.url).port);
    const heldFrom = new Map<number, { first: number; last: number }>();
    const notePorts = () => {
      const now = Date.now();
      for (const port of connectionPorts(paused.pid!, mailPort)) {
        const held = heldFrom.get(port);
        if (held) held.last = now;
        else heldFrom.set(port, { first: now, last: now });
      }
    };
    const fromFirstWorker = (message: ReceivedMail) => {
      const held = heldFrom.get(message.clientPort);
      return held !== undefined && message.startedAt >= held.first - 150 && message.startedAt <= held.last + 150;
    };
    const noting = setInterval(notePorts, 100);

    mail.setDelay(300);
    await digest.signal(runNowSignal);
    await mail.waitFor(20, { timeoutMs: 30_000 });
    paused.kill('SIGSTOP');
    const pausedAt = Date.now();
    notePorts();
    const atPause = mail.received.length;
    await workers.start();

    // Past the heartbeat timeout the second worker's attempt sends the rest; while it does, the first resumes.
    await mail.waitFor(atPause + 5 + 20, { timeoutMs: 60_000 });
    // A takeover comes at least a heartbeat timeout after the pause, by the clock the paused worker
    // reads too; here the test server skipped that time. The pause lasts as long as a claim is trusted.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, pausedAt + claimFreshMs + 1_000 - Date.now())));
    paused.kill('SIGCONT');
    const resumedAt = Date.now();

    // In flight at the fault (on the pool's 5 connections): the only emails that can arrive twice.
    await expectEachOnceButInFlight(mail, db, expected);
    expect(paused.exitCode).toBeNull();
    clearInterval(noting);
    notePorts();
    // The takeover: the first email from the other worker. After it, the paused worker sends only
    // what was on its way at the pause, at most one email on each of its pool's 5 connections (an
    // email it claimed and checked before the pause may begin its SMTP exchange as it resumes);
    // nothing more, however long it runs on.
    const byArrival = [...mail.received].sort((a, b) => a.arrivedAt - b.arrivedAt);
    const fromPaused = byArrival.filter(fromFirstWorker);
    const takeover = byArrival.find((message) => !fromFirstWorker(message))!;
    expect(fromPaused.length).toBeGreaterThanOrEqual(20);
    expect(takeover).toBeDefined();
    const told = (message: ReceivedMail) => `${message.envelopeTo[0]} (port ${message.clientPort}, begun ${message.startedAt - resumedAt} ms after the resume)`;
    const afterTakeover = fromPaused.filter((message) => message.arrivedAt > takeover.arrivedAt);
    expect(afterTakeover.length, afterTakeover.map(told).join('; ')).toBeLessThanOrEqual(5);
    await digest.terminate();
  });
});
