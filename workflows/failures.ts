import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * The failure to hand on to a caller (an update's client): for an activity that refused its
 * input, the activity's own ApplicationFailure (its type and details name the problem) rather
 * than the wrapper that says only that an activity failed.
 */
export function failureForCaller(error: unknown): unknown {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : error;
}

/**
 * The refusal in an activity's failure: a failure that will come back the same on every retry
 * (refused input, or data PostgreSQL refused), which long-lived workflows record before going on
 * with their next work. A scheduled activity's reaches the workflow wrapped in an ActivityFailure;
 * a local activity's, as the activity threw it. Undefined for any other error.
 */
export function refusalIn(error: unknown): ApplicationFailure | undefined {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure && failure.nonRetryable === true ? failure : undefined;
}
