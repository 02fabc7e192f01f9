import type { InputProblem } from '../contracts/error-report.js';

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
