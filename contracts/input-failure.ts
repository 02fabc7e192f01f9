import { ApplicationFailure } from '@temporalio/common';
import type { InputProblem } from './problems.js';

/** The failure type of refused input; the client turns it back into a `HeraldInputError`. */
export const inputFailureType = 'HeraldInputError';

/** A non-retryable failure for input that can never succeed, naming each bad field. */
export function inputFailure(problems: InputProblem[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: inputFailureType,
    message: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
    nonRetryable: true,
    details: [problems],
  });
}
