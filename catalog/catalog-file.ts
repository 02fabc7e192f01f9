/** Reads a catalog file, YAML (.yaml, .yml) or JSON, for `herald catalog apply` and the demo. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/** The demo catalog that `npm start` loads into an empty database. */
export const demoCatalogFile = fileURLToPath(new URL('../examples/catalog.yaml', import.meta.url));

/** A catalog file that does not parse as its format. */
export class CatalogFileError extends Error {
  override readonly name = 'CatalogFileError';
}

/** The parsed content of `file`; one that does not parse throws {@link CatalogFileError}, naming the file and the format. */
export async function readCatalogFile(file: string): Promise<unknown> {
  // A byte-order mark is not content: editors on Windows write one before JSON and YAML alike.
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new CatalogFileError(`${file} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message}`, { cause: error });
  }
}
