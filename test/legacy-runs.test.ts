import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import type { ErrorBatchResult } from '../workflows/legacy/error-batch.js';

/**
 * Runs of an earlier release's workflow types (workflows/legacy/) still open when a worker of
 * today's release starts must run to their end on today's activities, not only replay.
 */
describe('legacy runs finish on today\'s worker', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const herald = await startHerald({ env, db, retryWindowMs: 60_000 });

  it('an errorBatch run stores its report, retries its intermittent error in an intermittentRetry child, and ends', async () => {
    // The input of an errorBatch run as the earlier release started it (test/histories/error-batch.json).
    const batch = {
      environment: 'prod',
      flow: 'orders',
      batchId: 'legacy-run-1',
      errors: [
        { traceKey: 'SO-L1', message: 'Customer email is invalid', code: 'VALIDATION' },
        { traceKey: 'SO-L2', message: 'Lock timeout', intermittent: true },
      ],
    };
    const result = await env.client.workflow.execute<() => Promise<ErrorBatchResult>>('errorBatch', {
      taskQueue: herald.taskQueue,
      workflowId: 'legacy-error-batch-1',
      args: [batch] as never,
    });
    expect(result).toMatchObject({ batchId: 'legacy-run-1', stored: 2, open: 1, retrying: 1, retry: { outcome: 'exhausted', exhausted: 1 } });
    const rows = await db('errors').where({ report_id: 'legacy-run-1' }).orderBy('trace_key').select('trace_key', 'status');
    expect(rows).toEqual([
      { trace_key: 'SO-L1', status: 'open' },
      { trace_key: 'SO-L2', status: 'open' },
    ]);
  });
});
