import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { retention, retentionWorkflowId } from '../workflows/retention.js';
import { grpcCode, grpcStatus } from '../config/temporal-connection.js';

/** The id of Herald's retention schedule (S39) in its namespace. */
export const retentionScheduleId = 'herald-retention';

/**
 * Makes sure the retention schedule exists: every hour it starts the retention workflow on Herald's
 * task queue, never two at once (a run still deleting when the next is due makes it skip). The
 * retention age is the workers' (HERALD_RETENTION), read by each run: the schedule itself never
 * needs changing, except to follow the workers to a new task queue (a deploy that renames
 * HERALD_TASK_QUEUE): a schedule left on the old one would start runs no worker takes. Otherwise an
 * existing schedule is left as it is (an operator may have paused it). Answers false when the
 * Temporal server has no schedules (the time-skipping test server).
 */
export async function ensureRetentionSchedule(temporal: Client, taskQueue: string): Promise<boolean> {
  try {
    await temporal.schedule.create({
      scheduleId: retentionScheduleId,
      spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: retention, workflowId: retentionWorkflowId, taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { summary: 'Deletes what Herald keeps only for a while (HERALD_RETENTION)' },
    });
    return true;
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) {
      await followTaskQueue(temporal, taskQueue);
      return true;
    }
    if (grpcCode(error) === grpcStatus.unimplemented) return false;
    throw error;
  }
}

/** Moves the schedule's action to `taskQueue` if it names another; its spec, policies and state stay. */
async function followTaskQueue(temporal: Client, taskQueue: string): Promise<void> {
  const schedule = temporal.schedule.getHandle(retentionScheduleId);
  const { action } = await schedule.describe();
  if (action.type !== 'startWorkflow' || action.taskQueue === taskQueue) return;
  await schedule.update((current) => ({ ...current, action: { ...current.action, taskQueue } }));
}
