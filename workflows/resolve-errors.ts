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
  /** `email` when they resolved by a link of an email they received (S45). */
  via?: 'email';
}

/** A user resolves errors (S6); they leave the open count and reach the next digest as resolved. */
export async function resolveErrors(request: ResolveErrors): Promise<{ resolved: number[] }> {
  labelRun({ environment: request.environment });
  // Left out when not from an email: the activity's input reads as it did before S45.
  const resolved = await (request.via
    ? resolveErrorsActivity(request.environment, request.errorIds, request.user, request.via)
    : resolveErrorsActivity(request.environment, request.errorIds, request.user));
  labelRun({ outcome: 'resolved', summary: `${request.user} resolved ${resolved.length} error(s)${request.via ? ' from an email' : ''}` });
  return { resolved };
}
