/** One thing wrong with a catalog, at its path in the file (`flows[3].integration`). */
export interface CatalogProblem {
  path: string;
  message: string;
}

/**
 * Thrown by `applyCatalog` when a catalog is refused. The catalog is refused whole: nothing of
 * it was written. `problems` lists every problem found, each at its path in the file.
 */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  constructor(readonly problems: CatalogProblem[]) {
    super(
      `catalog refused, nothing written (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
    );
  }
}
