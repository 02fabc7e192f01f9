import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { environmentDigest, setIntervalSignal } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';

/**
 * Makes sure every environment has its one digest workflow, running with this interval.
 * Signal-with-start under the environment's workflow id: a running digest is told the interval,
 * a missing one is started; never two. Called at worker start and after a catalog is applied.
 */
export async function ensureDigestWorkflows(options: {
  temporal: Client;
  db: Knex;
  taskQueue: string;
  intervalMs: number;
}): Promise<string[]> {
  const environments: { id: string }[] = await options.db('environments').select('id').orderBy('id');
  for (const { id } of environments) {
    await options.temporal.workflow.signalWithStart(environmentDigest, {
      workflowId: environmentDigestWorkflowId(id),
      taskQueue: options.taskQueue,
      args: [{ environment: id, intervalMs: options.intervalMs }],
      signal: setIntervalSignal,
      signalArgs: [options.intervalMs],
    });
  }
  return environments.map((e) => e.id);
}
