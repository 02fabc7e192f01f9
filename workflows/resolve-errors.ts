import { proxyActivities } from '@temporalio/workflow';
import { labelRun } from './run-labels.js';
import type { ErrorActivities } from '../activities/error-activities.js';
import { databaseActivity } from './activity-options.js';
import { actionSourceWords, type ActionSource } from '../contracts/email-action.js';

const { resolveErrors: resolveErrorsActivity } = proxyActivities<ErrorActivities>(databaseActivity);

export interface ResolveErrors {
  environment: string;
  errorIds: number[];
  /** Email of the user who resolves them. */
  user: string;
  /** Where they followed a link to resolve them (S45): an email they received, a Slack or Teams message. */
  via?: ActionSource;
}

/** A user resolves errors (S6); they leave the open count and reach the next digest as resolved. */
export async function resolveErrors(request: ResolveErrors): Promise<{ resolved: number[] }> {
  labelRun({ environment: request.environment });
  // Left out when not from a link: the activity's input reads as it did before S45.
  const resolved = await (request.via
    ? resolveErrorsActivity(request.environment, request.errorIds, request.user, request.via)
    : resolveErrorsActivity(request.environment, request.errorIds, request.user));
  labelRun({ outcome: 'resolved', summary: `${request.user} resolved ${resolved.length} error(s)${request.via ? ` ${actionSourceWords(request.via)}` : ''}` });
  return { resolved };
}
