import { allHandlersFinished, condition, defineUpdate, executeChild, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { ErrorActivities } from '../activities/error-activities.js';
import type { ErrorReport } from '../contracts/error-report.js';
import { databaseActivity, localDatabaseActivity } from './activity-options.js';
import { failureForCaller } from './failures.js';
import { retryWindow, retryWindowLabels, type RetryWindowOutcome } from './retry-window.js';
import { retryWindowWorkflowId } from './workflow-ids.js';
import { relabel } from './run-labels.js';
import { workflowNow } from './workflow-time.js';
import { takesPatch } from './patches.js';

const { storeErrorReport, supersedeEarlierErrors } = proxyActivities<ErrorActivities>(databaseActivity);
const local = proxyLocalActivities<ErrorActivities>(localDatabaseActivity);

/**
 * A report supersedes at most this many earlier errors before its caller is answered (S3); more
 * are superseded right after the answer, by an activity of the run: the caller of a large report
 * waits for its errors to be stored (S1), not for thousands of earlier ones to be resolved.
 */
export const supersedeBeforeAnswerUpTo = 1_000;

/** What storing a report did, as the client returns it. */
export interface ReportReceipt {
  reportId: string;
  stored: number;
  duplicates: number;
  open: number;
  retrying: number;
  /**
   * Earlier open errors of the same trace keys that this report supersedes (S3): resolved before
   * the answer, or, past {@link supersedeBeforeAnswerUpTo}, by the run right after it.
   */
  superseded: number;
  /** The workflow that owns the retry window of the report's intermittent errors. */
  retryWorkflowId?: string;
}

/** The run's result: the receipt, and the outcome of the retry window, if any. */
export interface ReportResult extends ReportReceipt {
  retry?: RetryWindowOutcome;
}

/** Answers once the report is stored (or refused): the client waits on it, not on the retry window. */
export const storedUpdate = defineUpdate<ReportReceipt>('stored');

/**
 * One report of a flow run (S1–S5): stores its errors in one local activity (auto-resolving
 * superseded ones, or past {@link supersedeBeforeAnswerUpTo} of them, in an activity scheduled with
 * the answer), answers the `stored` update, and hands its intermittent errors to a
 * `retryWindow` child, whose outcome it returns. (It waits for the child rather than abandoning
 * it: waiting costs no action, and the time-skipping test server cannot skip time past an
 * abandoned child, temporalio/sdk-java#2392.)
 *
 * The store runs as a local activity, in the workflow task that the start brings: no activity task
 * goes through the server, so a report costs the server less than a bare workflow with one activity
 * (runs started before the patch store in a scheduled activity). It is idempotent: an attempt
 * that finds the rows of an earlier one answers as that one would have.
 *
 * The client starts the run with its labels (environment, flow, outcome "stored", a memo), so a
 * plain report costs three actions: the start, the update and the local activity's marker (one
 * action with the version marker of its workflow task). Only a refusal changes the labels.
 */
export async function errorReport(report: ErrorReport): Promise<ReportResult> {
  const state: { receipt?: ReportReceipt; refusal?: unknown } = {};
  setHandler(storedUpdate, async () => {
    await condition(() => state.receipt !== undefined || state.refusal !== undefined);
    if (state.refusal !== undefined) throw state.refusal;
    return state.receipt!;
  });

  let stored;
  // A local activity's own schedule time is the worker's clock: it is given the workflow's (the server's).
  const reportedAt = new Date(workflowNow()).toISOString();
  try {
    stored = takesPatch('store-report-locally')
      ? await local.storeErrorReport(report, reportedAt, { supersedeAtOnceUpTo: supersedeBeforeAnswerUpTo })
      : await storeErrorReport(report);
  } catch (error) {
    state.refusal = failureForCaller(error);
    relabel({ outcome: 'refused', summary: 'report refused' });
    await condition(allHandlersFinished);
    throw state.refusal;
  }
  const retryWorkflowId = stored.retrying.length > 0 ? retryWindowWorkflowId(report.environment, report.flow, report.reportId) : undefined;
  state.receipt = {
    reportId: report.reportId,
    stored: stored.stored,
    duplicates: stored.duplicates,
    open: stored.open,
    retrying: stored.retrying.length,
    superseded: stored.superseded + (stored.toSupersede?.length ?? 0),
    ...(retryWorkflowId && { retryWorkflowId }),
  };

  // Scheduled in the workflow task that answers, so that the answer does not wait for it.
  const superseding = stored.toSupersede?.length ? supersedeEarlierErrors(stored.toSupersede, reportedAt) : undefined;
  let retry: RetryWindowOutcome | undefined;
  if (retryWorkflowId) {
    const input = {
      environment: report.environment,
      flow: report.flow,
      errors: stored.retrying,
      windowMs: stored.retryWindowMs,
      retryActivity: report.retryActivity,
      taskQueue: stored.flowTaskQueue ?? undefined,
    };
    retry = await executeChild(retryWindow, { workflowId: retryWorkflowId, args: [input], ...retryWindowLabels(input) });
  }
  await superseding;
  await condition(allHandlersFinished);
  return { ...state.receipt, ...(retry && { retry }) };
}
