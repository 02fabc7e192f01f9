import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * Database activities: short attempts, retried until they succeed, so that a database outage
 * delays work and loses none. Input errors are non-retryable failures and end at once.
 */
export const databaseActivity: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * The same, run as a local activity: inside the worker's workflow task, with no activity task of
 * its own. For short, idempotent writes on a caller's path (storing a report), where the round trip
 * of a scheduled activity is most of the cost. Longer backoffs than a minute wait on a timer.
 */
export const localDatabaseActivity: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: databaseActivity.retry,
  localRetryThreshold: '1 minute',
};
