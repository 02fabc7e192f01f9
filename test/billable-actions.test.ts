import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import { billableActions, total } from './helpers/billable-actions.js';
import { HeraldEnvironment, HeraldFlow, HeraldOutcome } from '../workflows/run-labels.js';
import { environmentDigestWorkflowId, errorReportWorkflowId, retryWindowWorkflowId } from '../workflows/workflow-ids.js';
import { digestStatusQuery } from '../workflows/environment-digest.js';
import { startDigest } from './helpers/digests.js';

// Temporal Cloud bills per action and limits a namespace in actions per second: a report's
// actions are Herald's unit cost. Counted from the run's own history.
describe('what a report costs in Temporal actions', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const herald = await startHerald({ env, db });

  it('S1: a plain report costs at most 3 actions (start, update, one local activity) and still carries its labels', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'customers', reportId: 'plain-1', errors: [{ traceKey: 'C-1', message: 'Customer email invalid' }] });
    const workflowId = errorReportWorkflowId('prod', 'customers', 'plain-1');
    await herald.temporal.workflow.getHandle(workflowId).result();
    const actions = await billableActions(herald.temporal, workflowId);
    expect(actions, JSON.stringify(actions)).toEqual({ start: 1, update: 1, markers: 1 });
    expect(total(actions)).toBeLessThanOrEqual(3);
    const run = await herald.temporal.workflow.getHandle(workflowId).describe();
    expect([run.typedSearchAttributes.get(HeraldEnvironment), run.typedSearchAttributes.get(HeraldFlow), run.typedSearchAttributes.get(HeraldOutcome)]).toEqual(['prod', 'customers', 'stored']);
    expect((await run.memo)?.summary).toBe('report of 1 error');
  });

  // The report and its retry window together: each run counts in its own history.
  const reportAndWindow = async (reportId: string) => {
    const report = await billableActions(herald.temporal, errorReportWorkflowId('prod', 'orders', reportId));
    const window = await billableActions(herald.temporal, retryWindowWorkflowId('prod', 'orders', reportId));
    return { report, window, total: total(report) + total(window) };
  };

  it('S5: an intermittent error that a success report recovers costs at most 8 actions, report and retry window together', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'flaky-1', errors: [{ traceKey: 'O-1', message: 'Lock timeout', intermittent: true }] });
    await env.sleep(60_000);
    await herald.client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['O-1'] });
    expect(await herald.temporal.workflow.getHandle(retryWindowWorkflowId('prod', 'orders', 'flaky-1')).result()).toEqual({ outcome: 'recovered', recovered: 1, exhausted: 0 });
    const actions = await reportAndWindow('flaky-1');
    expect(actions, JSON.stringify(actions)).toMatchObject({
      report: { start: 1, update: 1, markers: 1 },
      window: { start: 1, timer: 1, signal: 1, 'search attributes': 1 },
    });
    expect(actions.total).toBeLessThanOrEqual(8);
  });

  it('S5: an intermittent error that its retry target recovers on the first call costs at most 8 actions', async () => {
    const flowWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'orders-flow',
      activities: { retryOrder: async () => 'imported' },
    });
    await flowWorker.runUntil(async () => {
      await herald.client.reportErrors({
        environment: 'prod',
        flow: 'orders',
        reportId: 'flaky-2',
        retryActivity: 'retryOrder',
        errors: [{ traceKey: 'O-2', message: 'Service unavailable', code: '503' }],
      });
      // The report's run returns its retry window's outcome (the window may not have started yet when the report is stored).
      const result = await herald.temporal.workflow.getHandle(errorReportWorkflowId('prod', 'orders', 'flaky-2')).result();
      expect(result.retry).toEqual({ outcome: 'recovered', recovered: 1, exhausted: 0 });
    });
    const actions = await reportAndWindow('flaky-2');
    expect(actions, JSON.stringify(actions)).toMatchObject({ window: { start: 1, timer: 1, 'activity attempt': 2, 'search attributes': 1 } });
    expect(actions.total).toBeLessThanOrEqual(8);
    expect(await db('errors').where({ trace_key: 'O-2' }).select('status', 'resolution_reason')).toEqual([{ status: 'auto_resolved', resolution_reason: 'retry succeeded' }]);
  });

  it('a report of 10,000 errors crosses Temporal once, compressed, far below the 512 KB warning', async () => {
    const errors = Array.from({ length: 10_000 }, (_, i) => ({ traceKey: `BIG-${i}`, message: `Record ${i} rejected by the target`, code: 'VALIDATION' }));
    expect(await herald.client.reportErrors({ environment: 'prod', flow: 'customers', reportId: 'big-1', errors })).toMatchObject({ stored: 10_000 });
    const history = await herald.temporal.workflow.getHandle(errorReportWorkflowId('prod', 'customers', 'big-1')).fetchHistory();
    // The run's input; the local activity that stores it takes it inside the worker, and records only its answer.
    const events = history.events ?? [];
    expect(events.filter((event) => event.activityTaskScheduledEventAttributes)).toEqual([]);
    const inputs = events.flatMap((event) => event.workflowExecutionStartedEventAttributes?.input?.payloads ?? []);
    expect(inputs).toHaveLength(1);
    expect(new TextDecoder().decode(inputs[0]!.metadata?.encoding ?? undefined)).toBe('binary/zlib');
    expect(inputs[0]!.data!.length).toBeLessThan(200_000);
    const size = (event: (typeof events)[number]) => JSON.stringify(event).length;
    expect(Math.max(...events.filter((event) => !event.workflowExecutionStartedEventAttributes).map(size))).toBeLessThan(10_000);
  });

  // A platform's environments are mostly quiet: a quiet cycle should cost what the platform's own
  // timer costs, whatever the environment's size (#40). A digest runs a fix only when a writer
  // told it of news (a signal, sent once per news since its last fix) or a rhythm falls due.
  it('S7: a digest cycle with nothing new costs its timer alone; news costs one signal and the fix that takes it; the run keeps its labels', async () => {
    const interval = 15 * 60_000;
    const handle = await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: interval });
    const timers = async () => (await billableActions(herald.temporal, environmentDigestWorkflowId('staging'))).timer ?? 0;
    // Past the run's first cycles (its one-off start, first look for news, first reminder look, first label).
    await env.sleep(2 * interval + 1_000);
    const before = await billableActions(herald.temporal, environmentDigestWorkflowId('staging'));
    // Two hours of quiet cycles. Nothing is open in staging: no look for reminders either, until news.
    await env.sleep(8 * interval);
    // Each cycle comes an interval after the last one ended: on a busy machine the ends drift, and
    // the eighth may come seconds past eight intervals. Counted when it is done, not before.
    for (let waited = 0; (await timers()) - (before.timer ?? 0) < 8 && waited < 60; waited += 1) await env.sleep(1_000);
    const after = await billableActions(herald.temporal, environmentDigestWorkflowId('staging'));
    const spent = (from: Record<string, number>, to: Record<string, number>) =>
      Object.fromEntries(Object.keys(to).map((what) => [what, to[what]! - (from[what] ?? 0)]).filter(([, n]) => n !== 0));
    expect(spent(before, after), JSON.stringify({ before, after })).toEqual({ timer: 8 });
    const run = await handle.describe();
    expect(run.typedSearchAttributes.get(HeraldOutcome)).toBe('nothing new');
    expect((await run.memo)?.summary).toMatch(/^quiet since cycle \d+: nothing new, no email$/);

    // News: the report tells the digest once (a second report before the cycle tells nobody), and the next cycle fixes it.
    const lastCycle = (await handle.query(digestStatusQuery)).lastCycle;
    await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'Q-1', message: 'Customer email invalid' }] });
    await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'Q-2', message: 'Customer email invalid' }] });
    await env.sleep(interval + 1_000);
    // The cycle's fix took both (its emails go to a mail server this file does not run: not waited for).
    const fixed = () => db('digest_cycles').where({ environment_id: 'staging', number: lastCycle + 1 }).first('new_count');
    for (let waited = 0; !(await fixed()) && waited < 60; waited += 1) await env.sleep(1_000);
    expect(await fixed()).toEqual({ new_count: 2 });
    expect(spent(after, await billableActions(herald.temporal, environmentDigestWorkflowId('staging')))).toMatchObject({ signal: 1, markers: 1 });
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'fixDigestCycle');
    expect(scheduled, 'cycles fixed by scheduled activities in this run').toEqual([]);
    await handle.terminate('test ended');
  });
});

