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
import type { ErrorActivities } from '../activities/error-activities.js';
import { retryTargetKeys, type RecordedRetryingError, type RetryTargetInput } from '../contracts/errors.js';
import { databaseActivity } from './activity-options.js';
import { HeraldEnvironment, HeraldFlow, HeraldOutcome, relabel } from './run-labels.js';

const { closeRetryWindow, stillRetrying } = proxyActivities<ErrorActivities>(databaseActivity);

export interface RetryWindowInput {
  environment: string;
  flow: string;
  /** As stored (histories of earlier releases name the key `key`). */
  errors: RecordedRetryingError[];
  windowMs: number;
  /** Activity type on the flow's task queue that retries one record. */
  retryActivity?: string;
  taskQueue?: string;
}

/** The window's result: recovered errors are auto-resolved silently; exhausted ones are open (S5). */
export interface RetryWindowOutcome {
  outcome: 'recovered' | 'exhausted' | 'partly recovered';
  recovered: number;
  exhausted: number;
}

/** Errors of the window that a success report recovered (already `auto_resolved` in the database). */
export interface RecoveredErrors {
  ids: number[];
}

/**
 * Tells the window that some of its errors recovered (a success report arrived). Sent without
 * ids (by earlier releases), the window asks the database which are still retrying.
 */
export const recordsSucceededSignal = defineSignal<[RecoveredErrors?]>('recordsSucceeded');
/** The errors still in the window. */
export const pendingQuery = defineQuery<number>('pending');

/** Concurrent calls of the retry target per window. */
const retryConcurrency = 20;

/** The labels a window is started with (free: no action of their own); only its outcome changes. */
export function retryWindowLabels(input: Pick<RetryWindowInput, 'environment' | 'flow' | 'errors' | 'windowMs'>) {
  return {
    typedSearchAttributes: [
      { key: HeraldEnvironment, value: input.environment },
      { key: HeraldFlow, value: input.flow },
      { key: HeraldOutcome, value: 'retrying' },
    ],
    memo: { summary: `retry window of ${input.errors.length} error${input.errors.length === 1 ? '' : 's'}, ${input.windowMs / 1000} s` },
  };
}

/**
 * Owns the retry window of a report's intermittent errors (S5). Where the report names a retry
 * target, it calls it per record with backoff; a success report from the flow also recovers a
 * record. When the window closes, what has not recovered becomes open and is notified. One
 * activity at the end records both outcomes, and none runs when a success report recovered all.
 */
export async function retryWindow(input: RetryWindowInput): Promise<RetryWindowOutcome> {
  const pending = new Map(input.errors.map((e) => [e.id, e]));
  const recoveredByTarget: number[] = [];
  let recheck = false;
  let windowClosed = false;
  setHandler(recordsSucceededSignal, (recovered) => {
    if (recovered) for (const id of recovered.ids) pending.delete(id);
    else recheck = true;
  });
  setHandler(pendingQuery, () => pending.size);

  const retries = new CancellationScope();
  if (input.retryActivity && input.taskQueue) {
    const target = proxyActivities<Record<string, (input: RetryTargetInput) => Promise<unknown>>>({
      taskQueue: input.taskQueue,
      startToCloseTimeout: '1 minute',
      scheduleToCloseTimeout: input.windowMs,
      retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
    })[input.retryActivity]!;
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
        if (pending.delete(error.id)) recoveredByTarget.push(error.id);
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

  const exhausted =
    recoveredByTarget.length + pending.size === 0 ? 0 : (await closeRetryWindow(recoveredByTarget, [...pending.keys()])).exhausted.length;
  const recovered = input.errors.length - exhausted;
  const outcome = exhausted === 0 ? 'recovered' : recovered === 0 ? 'exhausted' : 'partly recovered';
  relabel({ outcome });
  return { outcome, recovered, exhausted };
}
