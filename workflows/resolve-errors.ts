import { proxyActivities } from '@temporalio/workflow';
import { labelRun } from './run-labels.js';
import type { ErrorActivities } from '../activities/error-activities.js';
import { databaseActivity } from './activity-options.js';

const { resolveErrors: resolveErrorsActivity } = proxyActivities<ErrorActivities>(databaseActivity);

export interface ResolveErrors {
  environment: string;
  errorIds: number[];
  /** Email of the user who resolves them. */
  user: string;
}

/** A user resolves errors (S6); they leave the open count and reach the next digest as resolved. */
export async function resolveErrors(request: ResolveErrors): Promise<{ resolved: number[] }> {
  labelRun({ environment: request.environment });
  const resolved = await resolveErrorsActivity(request.environment, request.errorIds, request.user);
  labelRun({ outcome: 'resolved', summary: `${request.user} resolved ${resolved.length} error(s)` });
  return { resolved };
}
