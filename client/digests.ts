import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { environmentDigest } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';

/**
 * Makes sure every environment has its one digest workflow: started under the environment's
 * workflow id, joining a running one instead of starting another. The interval comes from the
 * workers' configuration. Called at worker start and after a catalog is applied.
 */
export async function ensureDigestWorkflows(options: {
  temporal: Client;
  db: Knex;
  taskQueue: string;
}): Promise<string[]> {
  const environments: { id: string }[] = await options.db('environments').select('id').orderBy('id');
  for (const { id } of environments) {
    await options.temporal.workflow.start(environmentDigest, {
      workflowId: environmentDigestWorkflowId(id),
      taskQueue: options.taskQueue,
      args: [{ environment: id }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }
  return environments.map((e) => e.id);
}
