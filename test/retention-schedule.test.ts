/**
 * S39 on a Temporal server with schedules (the dev server; the time-skipping server has none): a
 * production worker's start makes the retention schedule once, and a run it starts deletes what is
 * older than HERALD_RETENTION.
 */
import { describe, expect, it } from 'vitest';
import { startWorld } from './helpers/fixture.js';
import { createDevServer } from './helpers/temporal.js';
import { workerProcesses } from './helpers/worker-processes.js';
import { retentionScheduleId, ensureRetentionSchedule } from '../admin/retention-schedule.js';
import { retentionWorkflowId } from '../workflows/retention.js';

describe('S39: the retention schedule', async () => {
  const temporal = await createDevServer();
  const { db, url: databaseUrl, mail } = await startWorld();
  const taskQueue = 'herald-retention-schedule';
  const workers = workerProcesses({ temporalAddress: temporal.address, databaseUrl, smtpUrl: mail.url, taskQueue, variables: { HERALD_RETENTION: '2d' } });
  await workers.start();

  it('S39: is made by a worker start, once, hourly, one run at a time; its run deletes what is older than HERALD_RETENTION', async () => {
    const schedule = temporal.client.schedule.getHandle(retentionScheduleId);
    const described = await schedule.describe();
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 60 * 60_000 })]);
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retention', workflowId: retentionWorkflowId, taskQueue });
    // A second worker, or a second call, leaves it as it is.
    await workers.start();
    expect(await ensureRetentionSchedule(temporal.client, taskQueue)).toBe(true);
    expect((await schedule.describe()).info.createdAt).toEqual(described.info.createdAt);

    const [flow] = await db('flows').where({ id: 'orders' }).select('id');
    const resolved = (traceKey: string, daysAgo: number) => ({
      environment_id: 'prod', flow_id: flow.id, error_key: traceKey, report_id: 'retention', trace_key: traceKey, message: 'old',
      status: 'resolved', occurred_at: db.raw(`now() - interval '${daysAgo} days'`), reported_at: db.raw(`now() - interval '${daysAgo} days'`), resolved_at: db.raw(`now() - interval '${daysAgo} days'`),
    });
    await db('errors').insert([resolved('OLD-1', 3), resolved('RECENT-1', 1)]);
    await schedule.trigger();
    await expect.poll(async () => (await db('errors').where({ trace_key: 'OLD-1' })).length, { timeout: 30_000 }).toBe(0);
    expect(await db('errors').where({ trace_key: 'RECENT-1' }).pluck('trace_key')).toEqual(['RECENT-1']);
    // The schedule names its runs after the action's workflow id (with the time it started them).
    const [started] = (await schedule.describe()).info.recentActions;
    expect(started!.action.workflow.workflowId.startsWith(retentionWorkflowId)).toBe(true);
    const run = temporal.client.workflow.getHandle(started!.action.workflow.workflowId);
    expect(await run.result()).toMatchObject({ errors: 1, rounds: 1 });
  });

  it('S39: follows the workers to a new task queue (a deploy that renames HERALD_TASK_QUEUE), and keeps an operator\'s pause', async () => {
    const schedule = temporal.client.schedule.getHandle(retentionScheduleId);
    await schedule.pause('paused by an operator');
    expect(await ensureRetentionSchedule(temporal.client, 'herald-renamed')).toBe(true);
    const described = await schedule.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retention', taskQueue: 'herald-renamed' });
    expect(described.state).toMatchObject({ paused: true, note: 'paused by an operator' });
    await schedule.unpause();
  });
});
