import { ApplicationFailure } from '@temporalio/common';
import { InputRefusedError, type InputProblem } from '../contracts/problems.js';
import { inputFailureType } from '../contracts/input-failure.js';

/**
 * Thrown by the Herald client when a call's input is refused: before anything is sent when its
 * shape is wrong, or by Herald when it names an unknown environment, flow or user. Nothing of
 * the refused call was stored. `problems` names each bad field.
 */
export class HeraldInputError extends InputRefusedError {
  override readonly name = 'HeraldInputError';
}

/** Turns Herald's refusal of input, carried as a workflow or update failure, back into a HeraldInputError. */
export function asInputError(error: unknown): HeraldInputError | undefined {
  let cause: unknown = error;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type === inputFailureType) {
      const problems = cause.details?.[0];
      return new HeraldInputError(Array.isArray(problems) ? (problems as InputProblem[]) : [{ field: '(report)', message: cause.message }]);
    }
    cause = cause.cause;
  }
  return undefined;
}
