/**
 * `npm run bench -- takeover [--rounds 3] [--temporal host:port]`: how long a digest cycle waits
 * when the worker sending it is paused (SIGSTOP) and another worker is there to take over. Each
 * round: 150 recipients, an SMTP server answering each message after 300 ms; the sending worker
 * (`npm run worker`, a process of its own) is paused after 20 emails, a second one starts, and
 * the first is resumed once the cycle is done. Prints, per round, the seconds from the pause to
 * the next email (the takeover), and the emails the resumed worker sent after it (recipients
 * emailed twice beyond those in flight at the pause, on the pool's 5 connections). Asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { applyCatalog } from '../catalog/catalog.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { HeraldClient } from '../client/herald-client.js';
import { workflowBundleOptions } from '../worker/worker.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { runNowSignal, stopDigestSignal } from '../workflows/environment-digest.js';
import { workerRunning } from '../test/helpers/run-processes.js';
import { startBenchStack } from './stack.js';

const recipients = 150;
const pauseAfter = 20;
const smtpDelayMs = 300;
/** The stated bound (config/takeover.ts): the heartbeat timeout plus the first retry's 2 s, and a second's margin. */
const boundSeconds = 20 + 2 + 1;

/** An SMTP server that answers each message after a delay and notes who got what, when. */
async function startMailbox() {
  const arrivals: { to: string; at: number }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      stream.resume();
      // Noted when the message has arrived, before the answer: a paused sender's last messages
      // arrive before the pause, however late they are answered.
      stream.on('end', () => {
        for (const rcpt of session.envelope.rcptTo) arrivals.push({ to: rcpt.address.toLowerCase(), at: Date.now() });
        setTimeout(callback, smtpDelayMs);
      });
    },
  });
  // A paused sender's connections are reset when it dies or gives up: not the server's failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { arrivals, url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function benchTakeover(options: { rounds: number; temporal?: string }): Promise<void> {
  const stack = await startBenchStack({ temporal: options.temporal });
  const mailbox = await startMailbox();
  const folder = mkdtempSync(join(tmpdir(), 'herald-takeover-'));
  const bundleFile = join(folder, 'workflow-bundle.js');
  writeFileSync(bundleFile, (await bundleWorkflowCode({ ...workflowBundleOptions({ traced: false }), logger: new DefaultLogger('ERROR') })).code);
  const logFile = join(tmpdir(), `herald-takeover-${process.pid}.log`);
  const children: ChildProcess[] = [];
  process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));
  const temporal = createTemporalClient(stack.connection);

  async function startWorker(taskQueue: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../worker/main.ts', import.meta.url))], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: stack.temporalAddress,
        DATABASE_URL: stack.databaseUrl,
        SMTP_URL: mailbox.url,
        HERALD_TASK_QUEUE: taskQueue,
        HERALD_WORKFLOW_BUNDLE: bundleFile,
        HERALD_SECRET: 'the-bench-secret-of-at-least-32-characters',
        HERALD_FROM: 'Herald <bench@herald.test>',
        HERALD_APP_URL: 'https://app.herald.test',
        HERALD_DIGEST_INTERVAL: '24h',
        HERALD_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    await workerRunning(child);
    return child;
  }

  console.log(`takeover: ${recipients} recipients, ${smtpDelayMs} ms an email, the sending worker paused after ${pauseAfter}; logs in ${logFile}`);
  for (let round = 1; round <= options.rounds; round += 1) {
    const environment = `takeover-${round}`;
    const users = Array.from({ length: recipients }, (_, i) => ({ account: 'bench', email: `r${i}@${environment}.test`, role: 'monitor' as const }));
    await applyCatalog(stack.db, {
      accounts: [{ id: 'bench', name: 'Bench' }],
      users,
      environments: [{ id: environment, account: 'bench', name: environment, production: true }],
      integrations: [{ id: `${environment}-shop`, environment, name: 'Shop' }],
      flows: [{ id: `${environment}-orders`, integration: `${environment}-shop`, name: 'Orders', autoResolve: false }],
      subscriptions: users.map((user) => ({ environment, user: user.email, flows: [`${environment}-orders`] })),
    });
    const taskQueue = `takeover-${round}-${process.pid}`;
    const first = await startWorker(taskQueue);
    await new HeraldClient({ temporal, taskQueue }).reportErrors({ environment, flow: `${environment}-orders`, errors: [{ traceKey: 'T-1', message: 'Takeover probe' }] });
    const digest = temporal.workflow.getHandle(environmentDigestWorkflowId(environment));
    const mine = () => mailbox.arrivals.filter((a) => a.to.endsWith(`@${environment}.test`));
    await digest.signal(runNowSignal);
    while (mine().length < pauseAfter) await new Promise((resolve) => setTimeout(resolve, 20));
    first.kill('SIGSTOP');
    const pausedAt = Date.now();
    const second = await startWorker(taskQueue);
    while (!mine().some((a) => a.at > pausedAt)) await new Promise((resolve) => setTimeout(resolve, 50));
    const takeover = (mine().find((a) => a.at > pausedAt)!.at - pausedAt) / 1000;
    while (new Set(mine().map((a) => a.to)).size < recipients) await new Promise((resolve) => setTimeout(resolve, 50));
    const doneAt = Date.now();
    first.kill('SIGCONT');
    // What the resumed worker does, it does within seconds: its fence refuses it the rest.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const twice = mine().length - new Set(mine().map((a) => a.to)).size;
    const afterResume = mine().filter((a) => a.at > doneAt).length;
    console.log(`  round ${round}: takeover ${takeover.toFixed(1)} s after the pause (bound: ${boundSeconds} s); ${twice} recipient(s) emailed twice (≤ 5 in flight), ${afterResume} email(s) after the resume`);
    await digest.signal(stopDigestSignal);
    for (const child of [first, second]) child.kill('SIGTERM');
    await Promise.all([first, second].map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
  }
  await mailbox.close();
  await stack.stop();
  rmSync(folder, { recursive: true, force: true });
}
