/**
 * Herald's custom search attributes (see workflows/run-labels.ts), registered where they are
 * missing: the dev server gets them as start flags; a cluster gets them through the operator
 * service when a worker starts. A namespace where they cannot be added (Temporal Cloud, a
 * restricted cluster) must have them created beforehand, as the error says.
 */
import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';

/** A client or worker connection: both reach the operator service. */
type OperatorConnection = Pick<Connection, 'operatorService'> | Pick<NativeConnection, 'operatorService'>;
import { heraldSearchAttributes } from '../workflows/run-labels.js';
import { grpcCode, grpcStatus } from '../config/temporal-connection.js';

/** The dev server's `--search-attribute Name=Type` flags. */
export function searchAttributeFlags(): string[] {
  return heraldSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

/** Adds those of Herald's search attributes that the namespace lacks; returns the names added. */
export async function ensureSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const names = heraldSearchAttributes.map((key) => key.name);
  let missing: string[];
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    missing = names.filter((name) => !customAttributes?.[name]);
  } catch (error) {
    // The time-skipping test server cannot list them: try to add each.
    if (grpcCode(error) !== grpcStatus.unimplemented) throw error;
    missing = names;
  }
  if (missing.length === 0) return [];
  const added: string[] = [];
  try {
    // One at a time: another worker starting at the same moment may add some of them first.
    for (const name of missing) {
      try {
        await addSearchAttribute(connection, namespace, name);
        added.push(name);
      } catch (error) {
        if (grpcCode(error) !== grpcStatus.alreadyExists) throw error;
      }
    }
  } catch (error) {
    const create = missing.map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`);
    throw new Error(
      `the Temporal namespace "${namespace}" lacks Herald's search attributes ${missing.join(', ')} and they could not be added ` +
        `(${error instanceof Error ? error.message : String(error)}). Create them once, then start again:\n  ${create.join('\n  ')}`,
      { cause: error },
    );
  }
  return added;
}

/** Registers one search attribute of Herald's type (Keyword). */
async function addSearchAttribute(connection: OperatorConnection, namespace: string, name: string): Promise<void> {
  const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [name]: keyword } });
}
