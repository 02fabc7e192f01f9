import { getExternalWorkflowHandle, proxyActivities } from '@temporalio/workflow';
import { labelRun } from './run-labels.js';
import type { ErrorActivities } from '../activities/error-activities.js';
import { databaseActivity } from './activity-options.js';
import { recordsSucceededSignal } from './retry-window.js';
import { retryWindowWorkflowId } from './workflow-ids.js';

const { resolveSucceededRecords } = proxyActivities<ErrorActivities>(databaseActivity);

export interface RecordSuccesses {
  environment: string;
  flow: string;
  traceKeys: string[];
  reportId: string;
}

export interface RecordSuccessesResult {
  /** Open errors auto-resolved, "record succeeded" (S4). */
  resolved: number;
  /** Errors in a retry window that recovered, "retry succeeded" (S5). */
  recovered: number;
  /** The flow has auto-resolve off: nothing changed. */
  autoResolveOff: boolean;
}

/**
 * A flow reports records that succeeded: their open errors are auto-resolved, and their errors
 * in a retry window recover; the retry windows concerned are told which, so they can end early.
 */
export async function recordSuccesses(report: RecordSuccesses): Promise<RecordSuccessesResult> {
  labelRun({ environment: report.environment, flow: report.flow });
  const result = await resolveSucceededRecords(report.environment, report.flow, report.traceKeys);
  for (const { reportId, ids } of result.retryWindows) {
    const retry = getExternalWorkflowHandle(retryWindowWorkflowId(report.environment, report.flow, reportId));
    try {
      await retry.signal(recordsSucceededSignal, { ids });
    } catch {
      // The window already closed: the errors' new status is in the database all the same.
    }
  }
  labelRun({ outcome: 'resolved', summary: `${result.resolved} resolved, ${result.recovered} recovered from retry` });
  return { resolved: result.resolved, recovered: result.recovered, autoResolveOff: result.autoResolveOff };
}
