/** The activity of retention (S39): one bounded round of deletions of what is older than the retention age. */
import type { Knex } from 'knex';
import { purgeOnce, type PurgeRound } from '../stores/retention-store.js';
import { activityClock } from './sending.js';

export interface RetentionActivityDeps {
  db: Knex;
  /** HERALD_RETENTION, in milliseconds. */
  retentionMs: number;
  /** Rows of each kind deleted per round; default 5,000. */
  purgeBatchSize?: number;
}

export function createRetentionActivities({ db, retentionMs, purgeBatchSize = 5_000 }: RetentionActivityDeps) {
  return {
    /** Deletes one batch of each kind older than the retention age, by the Temporal server's clock; says whether more are left. */
    async purgeOldRecords(): Promise<PurgeRound & { cutoff: string }> {
      const cutoff = new Date(activityClock()().getTime() - retentionMs);
      return { ...(await purgeOnce(db, cutoff, purgeBatchSize)), cutoff: cutoff.toISOString() };
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
