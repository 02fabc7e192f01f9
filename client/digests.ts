import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { environmentDigest, setIntervalUpdate } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';

/**
 * Makes sure every environment has its one digest workflow: started under the environment's
 * workflow id with `intervalMs` as its interval, joining a running one instead of starting
 * another. With `applyInterval`, a running digest whose interval differs is set to `intervalMs`
 * (a worker starting with HERALD_DIGEST_INTERVAL); without it, running digests keep theirs.
 * Called at worker start and after a catalog is applied.
 */
export async function ensureDigestWorkflows(options: {
  temporal: Client;
  db: Knex;
  taskQueue: string;
  intervalMs: number;
  applyInterval?: boolean;
}): Promise<string[]> {
  const environments: { id: string }[] = await options.db('environments').select('id').orderBy('id');
  for (const { id } of environments) {
    const handle = await options.temporal.workflow.start(environmentDigest, {
      workflowId: environmentDigestWorkflowId(id),
      taskQueue: options.taskQueue,
      args: [{ environment: id, intervalMs: options.intervalMs }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    // Setting the interval a digest already has changes nothing, so it is simply set.
    if (options.applyInterval) await handle.executeUpdate(setIntervalUpdate, { args: [options.intervalMs] });
  }
  return environments.map((e) => e.id);
}
