import {
  allHandlersFinished,
  condition,
  defineUpdate,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ErrorActivities } from '../../activities/error-activities.js';
import type { ErrorReport } from '../../contracts/error-report.js';

/** A report as runs of this type were started: its id was `batchId`. */
type ErrorBatch = Omit<ErrorReport, 'reportId'> & { batchId: string };
import { databaseActivity } from '../activity-options.js';
import { failureForCaller } from '../failures.js';
import { intermittentRetry, type IntermittentRetryOutcome } from './intermittent-retry.js';
import { retryWindowWorkflowId as intermittentRetryWorkflowId } from '../workflow-ids.js';
import { HeraldEnvironment, labelRun } from '../run-labels.js';

const { storeErrorBatch } = proxyActivities<ErrorActivities>(databaseActivity);

/** What storing a report did, as the client returns it. */
export interface ErrorBatchStored {
  batchId: string;
  stored: number;
  duplicates: number;
  open: number;
  retrying: number;
  superseded: number;
  /** The child workflow that owns the retry window of the report's intermittent errors. */
  retryWorkflowId?: string;
}

/** The workflow's result: what was stored, and the outcome of the retry window, if any. */
export interface ErrorBatchResult extends ErrorBatchStored {
  retry?: IntermittentRetryOutcome;
}

/** Answers once the report is stored (or refused): the client waits on it, not on the retry window. */
export const storedUpdate = defineUpdate<ErrorBatchStored>('stored');

/**
 * Legacy: the report workflow before `errorReport`, kept so that runs started by an earlier
 * release replay and finish; new reports never start it. Delete it once no run of type
 * `errorBatch` or `intermittentRetry` is open (see README, "Workflows").
 *
 * One report of a flow run: stores its errors (auto-resolving superseded ones), then hands its
 * intermittent errors to a child workflow that owns their retry window, and waits for its
 * outcome (S1–S5). Clients learn that the report is stored through the `stored` update.
 */
export async function errorBatch(batch: ErrorBatch): Promise<ErrorBatchResult> {
  const state: { stored?: ErrorBatchStored; refusal?: unknown } = {};
  setHandler(storedUpdate, async () => {
    await condition(() => state.stored !== undefined || state.refusal !== undefined);
    if (state.refusal !== undefined) throw state.refusal;
    return state.stored!;
  });
  // A report started with its labels (search attributes and memo: no action of their own) changes
  // them only when its outcome is not the plain "open": a refusal or a retry window. Runs started
  // without labels label themselves as before.
  const labelledAtStart = workflowInfo().typedSearchAttributes.get(HeraldEnvironment) !== undefined;
  if (!labelledAtStart) labelRun({ environment: batch.environment, flow: batch.flow, outcome: 'storing' });

  let report;
  try {
    report = await storeErrorBatch(batch);
  } catch (error) {
    state.refusal = failureForCaller(error);
    labelRun({ outcome: 'refused', summary: 'report refused' });
    await condition(allHandlersFinished);
    throw state.refusal;
  }
  const stored: ErrorBatchStored = {
    batchId: batch.batchId,
    stored: report.stored,
    duplicates: report.duplicates,
    open: report.open,
    retrying: report.retrying.length,
    superseded: report.superseded,
    ...(report.retrying.length > 0 && {
      retryWorkflowId: intermittentRetryWorkflowId(batch.environment, batch.flow, batch.batchId),
    }),
  };
  state.stored = stored;
  if (!labelledAtStart || stored.retryWorkflowId) {
    labelRun({ outcome: stored.retryWorkflowId ? 'retrying' : 'open', summary: storedSummary(stored) });
  }

  let retry: IntermittentRetryOutcome | undefined;
  if (stored.retryWorkflowId) {
    retry = await executeChild(intermittentRetry, {
      workflowId: stored.retryWorkflowId,
      args: [
        {
          environment: batch.environment,
          flow: batch.flow,
          errors: report.retrying,
          windowMs: report.retryWindowMs,
          retryActivity: batch.retryActivity,
          taskQueue: report.flowTaskQueue ?? undefined,
        },
      ],
    });
    labelRun({ outcome: retry.outcome, summary: `${storedSummary(stored)}; retry ${retry.outcome}` });
  }
  await condition(allHandlersFinished);
  return { ...stored, ...(retry && { retry }) };
}

function storedSummary(s: ErrorBatchStored): string {
  return `${s.stored} stored (${s.open} open, ${s.retrying} retrying), ${s.duplicates} duplicate, ${s.superseded} superseded`;
}
