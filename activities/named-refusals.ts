/** Activities' failures as Temporal sees them: a refusal of input or data is named and final, not retried. */
import { ApplicationFailure } from '@temporalio/common';
import { inputFailure } from '../contracts/input-failure.js';
import { InputRefusedError } from '../contracts/problems.js';
import { describeDataError, isDataError } from '../stores/database-errors.js';

/**
 * The activities, each failing with a named, non-retryable refusal when it refuses its input
 * ({@link InputRefusedError}) or PostgreSQL refuses its data, instead of being retried for ever.
 * Other failures pass through unchanged.
 */
export function asNamedRefusals<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args) => {
      try {
        return await activity(...args);
      } catch (error) {
        if (error instanceof InputRefusedError) throw inputFailure(error.problems);
        if (error instanceof ApplicationFailure || !isDataError(error)) throw error;
        throw inputFailure([{ field: '(data)', message: describeDataError(error) }]);
      }
    };
  }
  return wrapped as T;
}
