import { ApplicationFailure } from '@temporalio/common';
import type { InputProblem } from '../contracts/error-report.js';
import { inputFailureType } from '../contracts/input-failure.js';

/**
 * Thrown by the Herald client when a call's input is refused: before anything is sent when its
 * shape is wrong, or by Herald when it names an unknown environment, flow or user. Nothing of
 * the refused call was stored. `problems` names each bad field.
 */
export class HeraldInputError extends Error {
  override readonly name = 'HeraldInputError';
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
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
