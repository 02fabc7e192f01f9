import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { environmentDigest } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';

/**
 * Makes sure every environment has its one digest workflow: started under the environment's
 * workflow id with `intervalMs` as its interval; a running one (whatever run of it, after any
 * number of continue-as-new) is left as it is: it learns a new HERALD_DIGEST_INTERVAL from its next
 * cycle, and an interval an operator chose stays. Called at worker start and after a catalog is applied.
 */
export async function ensureDigestWorkflows(options: {
  temporal: Client;
  db: Knex;
  taskQueue: string;
  intervalMs: number;
}): Promise<string[]> {
  const environments: { id: string }[] = await options.db('environments').whereNull('removed_at').select('id').orderBy('id');
  for (const { id } of environments) {
    await options.temporal.workflow.start(environmentDigest, {
      workflowId: environmentDigestWorkflowId(id),
      taskQueue: options.taskQueue,
      args: [{ environment: id, intervalMs: options.intervalMs }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }
  return environments.map((e) => e.id);
}
