/**
 * Records the histories that test/replay.test.ts replays: Herald's long-lived workflows (the
 * environment digest, a connection's status) and a report with its retry window, driven through
 * their paths on the real stack. Run it (`npm run record-histories`) when a workflow gains a path
 * worth keeping; never to make a failing replay pass: a replay that fails means running
 * workflows would fail too, and the change needs a `patched()` guard. Histories already recorded
 * are kept (older code's histories are the point); delete one to record it again.
 */
import { it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { cliExecutable } from '../../embedded/temporal-binaries.js';
import { createTestDatabase } from '../helpers/database.js';
import { createTimeSkippingEnvironment } from '../helpers/temporal.js';
import { startTestMailServer } from '../helpers/mail.js';
import { startHerald } from '../helpers/herald.js';
import { createTestWorld } from '../helpers/world.js';
import { runCycleNow, startDigest } from '../helpers/digests.js';
import { digestStatusQuery, remindNowUpdate, stopDigestSignal } from '../../workflows/environment-digest.js';

const folder = fileURLToPath(new URL('./', import.meta.url));
const minutes = (n: number) => n * 60_000;

it('records the histories of Herald\'s workflows', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const mail = await startTestMailServer();
  const herald = await startHerald({ env, db, smtpUrl: mail.url, retryWindowMs: minutes(5), connectionGraceMs: minutes(1) });
  // The CLI writes history JSON in the form the Temporal UI exports and the SDK's replayer reads.
  const cli = cliExecutable();
  if (cli.type !== 'existing-path') throw new Error('the Temporal CLI is needed (npm install puts it in .tools/bin)');
  const save = async (name: string, workflowId: string, runId?: string) => {
    if (existsSync(`${folder}${name}.json`)) return;
    const json = execFileSync(cli.path, ['workflow', 'show', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--address', env.address, '--output', 'json']);
    mkdirSync(folder, { recursive: true });
    writeFileSync(`${folder}${name}.json`, json);
  };

  // The digest: cycles with news and without, a recipient refused for now and retried, continue-as-new.
  const digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', cyclesPerRun: 4 });
  const firstRun = (await digest.describe()).runId;
  await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-1', message: 'Customer not found' }] });
  await env.sleep(minutes(16));
  mail.refuseAt('orders-team@acme.test', 'rcpt', 451);
  await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-2', message: 'Price list missing' }] });
  await runCycleNow(herald.temporal, 'prod');
  await env.sleep(minutes(2));
  mail.accept('orders-team@acme.test');
  await env.sleep(minutes(30));
  await save('environment-digest', 'digest/prod', firstRun);
  // The same run since patch requests-leave-the-timer: the run-now wakes it without cancelling its timer.
  await save('environment-digest-requests-leave-the-timer', 'digest/prod', firstRun);
  // The run it continued as, whose quiet cycles are fixed and completed by one activity (scheduled
  // before patch fix-cycles-locally, local after it).
  await save('environment-digest-quiet-cycles', 'digest/prod');
  await save('environment-digest-cycles-fixed-locally', 'digest/prod');
  // Since patch quiet-cycles-sleep (#40): its quiet cycles run no fix, only their timer; news is told by a signal.
  await env.sleep(minutes(16));
  const sleepingRun = (await digest.describe()).runId;
  await env.sleep(minutes(15));
  await herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-4', message: 'Told by a signal' }] });
  await env.sleep(minutes(31));
  await save('environment-digest-quiet-cycles-sleep', 'digest/prod', sleepingRun);
  await digest.signal(stopDigestSignal);

  // A digest asked to remind now, and asked for a cycle while the last cycle of its run sends:
  // answered before it continues as new.
  const staging = await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: minutes(15), cyclesPerRun: 1 });
  const stagingRun = (await staging.describe()).runId;
  await staging.executeUpdate(remindNowUpdate);
  await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'ST-1', message: 'Sandbox failure' }] });
  mail.setDelay(1_500);
  const first = runCycleNow(herald.temporal, 'staging');
  while ((await staging.query(digestStatusQuery)).state !== 'running cycle') await new Promise((resolve) => setTimeout(resolve, 50));
  await Promise.all([first, runCycleNow(herald.temporal, 'staging')]);
  mail.setDelay(0);
  await save('environment-digest-remind-now', 'digest/staging', stagingRun);
  const afterRemindNow = (await herald.temporal.workflow.getHandle('digest/staging', stagingRun).fetchHistory()).events?.at(-1);
  await save('environment-digest-run-now-before-continuing', 'digest/staging', afterRemindNow?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined);
  await staging.signal(stopDigestSignal);

  // A digest stopped while a cycle sends, with a run-now request for the cycle after it and a
  // remind-now request waiting: the look is answered, the run-now refused, the digest ends.
  await herald.temporal.workflow.getHandle('digest/staging').result();
  const halting = await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: minutes(15) });
  await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'ST-2', message: 'Sandbox failure again' }] });
  mail.setDelay(1_500);
  const running = runCycleNow(herald.temporal, 'staging');
  while ((await halting.query(digestStatusQuery)).state !== 'running cycle') await new Promise((resolve) => setTimeout(resolve, 50));
  const waiting = [runCycleNow(herald.temporal, 'staging').catch(() => 'refused'), halting.executeUpdate(remindNowUpdate)];
  while ((await halting.describe()).raw.pendingWorkflowTask) await new Promise((resolve) => setTimeout(resolve, 50));
  await halting.signal(stopDigestSignal);
  await Promise.all([running, ...waiting, halting.result()]);
  mail.setDelay(0);
  await save('environment-digest-stopped-with-requests', 'digest/staging', (await halting.describe()).runId);

  // A connection that goes offline past the grace period and comes back.
  await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ECONNREFUSED' });
  await env.sleep(minutes(2));
  await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
  await env.sleep(minutes(1));
  await save('connection-status', 'connection/erp');
  // One that comes back within the grace period (since patch reports-leave-the-timer, the report
  // leaves the deadline's timer running; it fires later, to nothing).
  await herald.client.reportConnectionStatus({ environment: 'staging', connection: 'staging-erp', status: 'offline', reason: 'ETIMEDOUT' });
  await env.sleep(30_000);
  await herald.client.reportConnectionStatus({ environment: 'staging', connection: 'staging-erp', status: 'online' });
  await env.sleep(minutes(2));
  await save('connection-status-back-within-grace', 'connection/staging-erp');

  // A report with an intermittent error whose retry window runs out (errorReport, retryWindow;
  // error-batch.json and intermittent-retry.json are the same path as an earlier release ran it).
  const report = await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'run-7', errors: [{ traceKey: 'SO-3', message: 'Gateway timeout', code: '504' }] });
  await env.sleep(minutes(6));
  await save('error-report', 'errors/prod/orders/run-7');
  await save('error-report-stored-locally', 'errors/prod/orders/run-7');
  await save('retry-window', report.retryWorkflowId!);

  // A report superseding more earlier errors than it does before answering: the rest right after.
  const many = (reportId: string) => ({ environment: 'prod', flow: 'orders', reportId, errors: Array.from({ length: 1_001 }, (_, i) => ({ traceKey: `SO-M${i}`, message: 'Price missing' })) });
  await herald.client.reportErrors(many('run-9'));
  await herald.client.reportErrors(many('run-10'));
  await herald.temporal.workflow.getHandle('errors/prod/orders/run-10').result();
  await save('error-report-superseding-after-answer', 'errors/prod/orders/run-10');

  // A retry window that a success report ends early.
  const recovering = await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'run-8', errors: [{ traceKey: 'SO-4', message: 'Lock timeout', intermittent: true }] });
  await env.sleep(minutes(1));
  await herald.client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['SO-4'] });
  await herald.temporal.workflow.getHandle(recovering.retryWorkflowId!).result();
  await save('retry-window-recovered', recovering.retryWorkflowId!);
}, 300_000);
