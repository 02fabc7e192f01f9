import {
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { ErrorActivities } from '../../activities/error-activities.js';
import { retryTargetKeys, type RecordedRetryingError, type RetryTargetInput } from '../../contracts/errors.js';
import { databaseActivity } from '../activity-options.js';
import { labelRun } from '../run-labels.js';

const { markRecovered, markRetryExhausted, stillRetrying } = proxyActivities<ErrorActivities>(databaseActivity);

export interface IntermittentRetryInput {
  environment: string;
  flow: string;
  /** As stored (histories of earlier releases name the key `key`). */
  errors: RecordedRetryingError[];
  windowMs: number;
  /** Activity type on the flow's task queue that retries one record. */
  retryActivity?: string;
  taskQueue?: string;
}

/** The child's result: recovered errors are auto-resolved silently; exhausted ones are open (S5). */
export interface IntermittentRetryOutcome {
  outcome: 'recovered' | 'exhausted' | 'partly recovered';
  recovered: number;
  exhausted: number;
}

/** Tells the retry workflow that some of its errors may have recovered (a success report arrived). */
export const recordsSucceededSignal = defineSignal<[unknown?]>('recordsSucceeded');
/** The errors still in the window. */
export const pendingQuery = defineQuery<number>('pending');

/** Concurrent calls of the retry target per window. */
const retryConcurrency = 20;

/**
 * Legacy: the retry window before `retryWindow`, kept so that runs started by an earlier release
 * replay and finish (see `errorBatch`).
 *
 * Owns the retry window of a report's intermittent errors (S5). Where the report names a retry
 * target, it calls it per record with backoff; a success report from the flow also recovers a
 * record. When the window closes, what has not recovered becomes open and is notified.
 */
export async function intermittentRetry(input: IntermittentRetryInput): Promise<IntermittentRetryOutcome> {
  const pending = new Map(input.errors.map((e) => [e.id, e]));
  let recheck = false;
  let windowClosed = false;
  setHandler(recordsSucceededSignal, () => {
    recheck = true;
  });
  setHandler(pendingQuery, () => pending.size);
  labelRun({ environment: input.environment, flow: input.flow, outcome: 'retrying' });

  const retries = new CancellationScope();
  if (input.retryActivity && input.taskQueue) {
    const retryActivity = input.retryActivity;
    const target = proxyActivities<Record<string, (input: RetryTargetInput) => Promise<unknown>>>({
      taskQueue: input.taskQueue,
      startToCloseTimeout: '1 minute',
      scheduleToCloseTimeout: input.windowMs,
      retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
    })[retryActivity]!;
    const queue = [...input.errors];
    const retryNext = async (): Promise<void> => {
      for (let error = queue.shift(); error; error = queue.shift()) {
        if (!pending.has(error.id)) continue;
        try {
          await target({ environment: input.environment, flow: input.flow, ...retryTargetKeys(error), traceKey: error.traceKey });
        } catch (failure) {
          if (isCancellation(failure)) return;
          continue; // this record did not recover within the window
        }
        await CancellationScope.nonCancellable(() => markRecovered([error.id]));
        pending.delete(error.id);
      }
    };
    void retries.run(() => Promise.all(Array.from({ length: retryConcurrency }, retryNext)));
  }

  void sleep(input.windowMs).then(() => {
    windowClosed = true;
  });
  while (pending.size > 0 && !windowClosed) {
    await condition(() => recheck || pending.size === 0 || windowClosed);
    if (recheck) {
      recheck = false;
      const still = new Set(await stillRetrying([...pending.keys()]));
      for (const id of [...pending.keys()]) if (!still.has(id)) pending.delete(id);
    }
  }
  retries.cancel();

  const exhausted = (await markRetryExhausted([...pending.keys()])).length;
  const recovered = input.errors.length - exhausted;
  const outcome = exhausted === 0 ? 'recovered' : recovered === 0 ? 'exhausted' : 'partly recovered';
  labelRun({ outcome, summary: `${outcome}: ${recovered} recovered, ${exhausted} open after the retry window` });
  return { outcome, recovered, exhausted };
}
