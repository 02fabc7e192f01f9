import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention-activities.js';
import { databaseActivity } from './activity-options.js';
import { relabel } from './run-labels.js';
import { takesPatch } from './patches.js';
import { workflowNow } from './workflow-time.js';

/** The workflow id of every retention run: the schedule starts one at a time. */
export const retentionWorkflowId = 'herald-retention';

/** What a retention run deleted. */
export interface RetentionSummary {
  errors: number;
  deliveries: number;
  cycles: number;
  rounds: number;
}

const { purgeOldRecords } = proxyActivities<RetentionActivities>(databaseActivity);

/** Rounds per run before it continues as new: its history stays small however much there is to delete. */
const roundsPerRun = 500;

/**
 * Retention (S39), started by the `herald-retention` schedule: deletes what is older than the
 * retention age, one bounded batch of each kind per round, until a round leaves nothing more.
 */
export async function retention(carried: RetentionSummary = { errors: 0, deliveries: 0, cycles: 0, rounds: 0 }): Promise<RetentionSummary> {
  const summary = { ...carried };
  for (let round = 0; round < roundsPerRun; round += 1) {
    const startedAt = workflowNow();
    const purged = await purgeOldRecords();
    summary.errors += purged.errors;
    summary.deliveries += purged.deliveries;
    summary.cycles += purged.cycles;
    summary.rounds += 1;
    if (!purged.more) {
      relabel({ outcome: 'done', summary: `deleted ${summary.errors} resolved errors, ${summary.deliveries} email records, ${summary.cycles} digest cycles (older than ${purged.cutoff})` });
      return summary;
    }
    // Paced: a pause as long as the round took (a second at least), so that a large backlog takes
    // at most half of the database's time and reports and digests go on beside it.
    if (takesPatch('paced-retention')) await sleep(Math.max(1_000, workflowNow() - startedAt));
  }
  return continueAsNew<typeof retention>(summary);
}
