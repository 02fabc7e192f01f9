import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import { billableActions, total } from './helpers/billable-actions.js';
import { HeraldEnvironment, HeraldFlow, HeraldOutcome } from '../workflows/run-labels.js';
import { errorBatchWorkflowId } from '../workflows/workflow-ids.js';

// Temporal Cloud bills per action and limits a namespace in actions per second: a report's
// actions are Herald's unit cost. Counted from the run's own history.
describe('what a report costs in Temporal actions', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const herald = await startHerald({ env, db });

  it('S1: a plain report costs at most 3 actions (start, update, one activity) and still carries its labels', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'customers', batchId: 'plain-1', errors: [{ traceKey: 'C-1', message: 'Customer email invalid' }] });
    const workflowId = errorBatchWorkflowId('prod', 'customers', 'plain-1');
    await herald.temporal.workflow.getHandle(workflowId).result();
    const actions = await billableActions(herald.temporal, workflowId);
    expect(actions, JSON.stringify(actions)).toEqual({ start: 1, update: 1, 'activity attempt': 1 });
    expect(total(actions)).toBeLessThanOrEqual(3);
    const run = await herald.temporal.workflow.getHandle(workflowId).describe();
    expect([run.typedSearchAttributes.get(HeraldEnvironment), run.typedSearchAttributes.get(HeraldFlow), run.typedSearchAttributes.get(HeraldOutcome)]).toEqual(['prod', 'customers', 'open']);
    expect((await run.memo)?.summary).toBe('report of 1 error');
  });
});
