import { InputRefusedError, type InputProblem } from '../contracts/problems.js';

/**
 * Thrown by `applyCatalog` when a catalog is refused. The catalog is refused whole: nothing of
 * it was written. `problems` lists every problem found, each at its field in the file
 * (`flows[3].integration`).
 */
export class CatalogError extends InputRefusedError {
  override readonly name = 'CatalogError';
  constructor(problems: InputProblem[]) {
    super(problems, `catalog refused, nothing written (${problems.length} problem${problems.length === 1 ? '' : 's'})`);
  }
}
