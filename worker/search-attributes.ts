/**
 * Herald's custom search attributes (see workflows/run-labels.ts), registered where they are
 * missing: the dev server gets them as start flags; a cluster gets them through the operator
 * service when a worker starts. A namespace where they cannot be added (Temporal Cloud, a
 * restricted cluster) must have them created beforehand, as the error says.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { heraldSearchAttributes } from '../workflows/run-labels.js';

/** The dev server's `--search-attribute Name=Type` flags. */
export function searchAttributeFlags(): string[] {
  return heraldSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

/** Adds those of Herald's search attributes that the namespace lacks; returns the names added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = heraldSearchAttributes.map((key) => key.name).filter((name) => !customAttributes?.[name]);
  if (missing.length === 0) return [];
  try {
    await addSearchAttributes(connection, namespace, missing);
  } catch (error) {
    const create = missing.map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`);
    throw new Error(
      `the Temporal namespace "${namespace}" lacks Herald's search attributes ${missing.join(', ')} and they could not be added ` +
        `(${error instanceof Error ? error.message : String(error)}). Create them once, then start again:\n  ${create.join('\n  ')}`,
      { cause: error },
    );
  }
  return missing;
}

/** Registers search attributes by name, all of Herald's type (Keyword). */
export async function addSearchAttributes(connection: Connection, namespace: string, names: string[]): Promise<void> {
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(names.map((name) => [name, keyword])),
  });
}
