import { allHandlersFinished, condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { AssignmentActivities } from '../activities/assignment-activities.js';
import type { AssignRequest } from '../contracts/error-report.js';
import { databaseActivity } from './activity-options.js';
import { failureForCaller } from './failures.js';
import { relabel } from './run-labels.js';

const { recordAssignment } = proxyActivities<AssignmentActivities>(databaseActivity);
const { sendAssignmentEmails } = proxyActivities<AssignmentActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Answers once the assignment is recorded (or refused): the caller does not wait for the mail server. */
export const assignedUpdate = defineUpdate<{ assigned: number[] }>('assigned');

/**
 * A user assigns errors to a user of the account (S32): the assignment is recorded, the caller
 * told through the `assigned` update, and the assignee emailed at once, exactly once per action,
 * whatever their subscriptions (through a mail server outage too: the sending is retried).
 */
export async function assignErrors(request: AssignRequest & { requestId: string }): Promise<{ assigned: number[] }> {
  const state: { assigned?: number[]; refusal?: unknown } = {};
  setHandler(assignedUpdate, async () => {
    await condition(() => state.assigned !== undefined || state.refusal !== undefined);
    if (state.refusal !== undefined) throw state.refusal;
    return { assigned: state.assigned! };
  });
  let eventId: number;
  try {
    ({ eventId, assigned: state.assigned } = await recordAssignment(request));
  } catch (error) {
    state.refusal = failureForCaller(error);
    await condition(allHandlersFinished);
    throw state.refusal;
  }
  await sendAssignmentEmails(eventId);
  relabel({ outcome: 'assigned', summary: `${request.user} assigned ${state.assigned.length} error(s) to ${request.assignee}` });
  await condition(allHandlersFinished);
  return { assigned: state.assigned };
}
