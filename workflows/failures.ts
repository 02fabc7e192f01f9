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
 * True for an activity failure that will fail the same way on every retry (refused input, or
 * data PostgreSQL refused): long-lived workflows record it and go on with their next work.
 */
export function isRefusal(error: unknown): error is ActivityFailure {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable === true;
}
