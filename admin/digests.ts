import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { WorkflowNotFoundError } from '@temporalio/client';
import { environmentDigest, stopDigestSignal } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';

export interface EnsureDigestsOptions {
  temporal: Client;
  db: Knex;
  taskQueue: string;
  intervalMs: number;
  /**
   * `new`: only the environments whose digest was never made sure of (created since, or whose start
   * was missed): what a worker start, a catalog apply and the API do, touching no other environment.
   * `all`: every environment (`herald digest ensure`, after a namespace was reset or a digest ended by hand).
   */
  scope: 'new' | 'all';
  /** Starts in flight at once; default 16. */
  concurrency?: number;
}

/**
 * Makes sure environments have their one digest workflow: started under the environment's workflow
 * id with `intervalMs` as its interval; a running one (whatever run of it, after any number of
 * continue-as-new) is left as it is: it learns a new HERALD_DIGEST_INTERVAL from its next cycle,
 * and an interval an operator chose stays. Each environment is marked ensured once its start is
 * answered. Answers the environments made sure of.
 */
export async function ensureDigestWorkflows(options: EnsureDigestsOptions): Promise<string[]> {
  const query = options.db('environments').whereNull('removed_at').select('id').orderBy('id');
  if (options.scope === 'new') void query.whereNull('digest_ensured_at');
  const ids = ((await query) as { id: string }[]).map((e) => e.id);
  const concurrency = options.concurrency ?? 16;
  for (let at = 0; at < ids.length; at += concurrency) {
    const batch = ids.slice(at, at + concurrency);
    await Promise.all(
      batch.map((id) =>
        options.temporal.workflow.start(environmentDigest, {
          workflowId: environmentDigestWorkflowId(id),
          taskQueue: options.taskQueue,
          args: [{ environment: id, intervalMs: options.intervalMs }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      ),
    );
    await options.db('environments').whereIn('id', batch).update({ digest_ensured_at: options.db.fn.now() });
  }
  return ids;
}

/**
 * Ends the digests of removed environments: each is asked to stop (it answers what waits for it
 * and ends), and its environment is no longer marked ensured, so that a put bringing it back
 * starts its digest again. A digest already ended is fine. Answers the environments whose digest
 * was stopped.
 */
export async function stopDigestsOfRemovedEnvironments(options: Pick<EnsureDigestsOptions, 'temporal' | 'db'>): Promise<string[]> {
  const ids = ((await options.db('environments').whereNotNull('removed_at').whereNotNull('digest_ensured_at').select('id')) as { id: string }[]).map((e) => e.id);
  for (const id of ids) {
    await options.temporal.workflow
      .getHandle(environmentDigestWorkflowId(id))
      .signal(stopDigestSignal)
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
    await options.db('environments').where({ id }).whereNotNull('removed_at').update({ digest_ensured_at: null });
  }
  return ids;
}

/** Digests in step with the environments: new ones started, removed ones ended. */
export async function keepDigestsInStep(options: EnsureDigestsOptions): Promise<void> {
  await stopDigestsOfRemovedEnvironments(options);
  await ensureDigestWorkflows(options);
}
