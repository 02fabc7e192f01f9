import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Database activities: short attempts, retried until they succeed, so that a database outage
 * delays work and loses none. Input errors are non-retryable failures and end at once.
 */
export const databaseActivity: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
