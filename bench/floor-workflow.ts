/**
 * The Temporal floor of the bench: a bare workflow that runs one database activity and ends,
 * what any report costs at least on the same server. Bundled by bench/run.ts alone.
 */
import { proxyActivities } from '@temporalio/workflow';

const { floorActivity } = proxyActivities<{ floorActivity(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function floorWorkflow(): Promise<void> {
  await floorActivity();
}
