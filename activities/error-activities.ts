/** Activities of the error lifecycle: storing reports, success reports, retry outcomes, user resolution. */
import type { Knex } from 'knex';
import { checkErrorReport, checkResolveRequest, checkSuccessReport, type ErrorReport } from '../contracts/error-report.js';
import { createErrorStore, type StoredReport, type StoreOptions } from '../stores/error-store.js';
import { inputFailure } from '../contracts/input-failure.js';
import type { TellDigest } from '../stores/digest-news.js';
import { Context } from '@temporalio/activity';
import { activityClock } from './sending.js';
import { measuredReportStore } from './metrics.js';
import type { ActionSource } from '../contracts/email-action.js';

export interface ErrorActivityDeps {
  db: Knex;
  /** How long intermittent errors are retried (S5), from HERALD_RETRY_WINDOW. */
  retryWindowMs: number;
  /** Tells an environment's digest that it has news (#40): a quiet digest runs no fix until told. */
  tellDigest: TellDigest;
  now?: () => Date;
}

/** What the report workflow learns from storing a report: what was stored, and how long to retry. */
export interface StoredReportWithWindow extends StoredReport {
  retryWindowMs: number;
}

/**
 * Times of the error lifecycle (reported, resolved) are the Temporal server's, as the workflows'
 * timers are: reminders compare them with the digest workflow's clock (S31).
 */
const serverNow = () => activityClock()();

/** Whether an earlier attempt of this activity ran: it may have stored news and died before it told the digest. */
const retried = () => Context.current().info.attempt > 1;

export function createErrorActivities({ db, retryWindowMs, tellDigest, now = serverNow }: ErrorActivityDeps) {
  const store = createErrorStore(db);
  /**
   * Tells the digests of these environments of the news just stored (#40): those whose flag this
   * attempt raised, or, on a retry, every one it stored news for (`storedIn`, asked only then: the
   * attempt before may have raised the flag and died before telling). Throws when Temporal cannot
   * be told: the retry tells.
   */
  const tell = async (raised: Iterable<string>, storedIn: () => string[] | Promise<string[]> = () => []) => {
    for (const environment of new Set([...raised, ...(retried() ? await storedIn() : [])])) await tellDigest(environment);
  };
  /**
   * Stores a report (S1–S3); refuses bad input without storing anything (S2). `reportedAt` is
   * the workflow's time (ISO), given by a local activity: its own schedule time is the worker's
   * clock, not the server's. With `supersedeAtOnceUpTo`, more earlier errors than that are left
   * to {@link supersedeEarlierErrors} (the answer's `toSupersede`).
   */
  async function storeErrorReport(report: ErrorReport, reportedAt?: string, options?: StoreOptions): Promise<StoredReportWithWindow> {
    const problems = checkErrorReport(report);
    if (problems.length > 0) throw inputFailure(problems);
    const { tellDigest: news, ...result } = await measuredReportStore(() => store.storeReport(report, reportedAt ? new Date(reportedAt) : now(), options));
    await tell(news ? [report.environment] : [], () => (result.open > 0 || result.superseded > 0 ? [report.environment] : []));
    return { ...result, retryWindowMs };
  }
  return {
    storeErrorReport,

    /** Auto-resolves earlier errors that a stored report superseded (S3), at the report's time. Returns how many changed. */
    async supersedeEarlierErrors(ids: number[], reportedAt: string): Promise<number> {
      const { superseded, raised } = await store.supersedeTelling(ids, new Date(reportedAt));
      await tell(raised, () => store.environmentsOf(ids));
      return superseded;
    },

    /** The same, for `errorBatch` runs of an earlier release, whose report id was `batchId`. */
    async storeErrorBatch({ batchId, ...report }: Omit<ErrorReport, 'reportId'> & { batchId: string }): Promise<StoredReportWithWindow> {
      return storeErrorReport({ ...report, reportId: batchId });
    },

    /** Resolves the open errors of records that succeeded, and recovers those in a retry window (S4, S5). */
    async resolveSucceededRecords(environment: string, flow: string, traceKeys: string[]) {
      const problems = checkSuccessReport({ environment, flow, traceKeys });
      if (problems.length > 0) throw inputFailure(problems);
      const { raised, ...result } = await store.resolveSucceededRecords(environment, flow, traceKeys, now());
      await tell(raised ? [environment] : [], () => [environment]);
      return result;
    },

    /** The retry target succeeded for these errors. Returns the ids that recovered. */
    async markRecovered(ids: number[]): Promise<number[]> {
      return store.markRecovered(ids, now());
    },

    /** The retry window closed: what is still retrying becomes open. Returns the ids opened. */
    async markRetryExhausted(ids: number[]): Promise<number[]> {
      const opened = await store.markRetryExhausted(ids);
      await tell(opened.raised, () => store.environmentsOf(ids));
      return opened.ids;
    },

    /**
     * A retry window closed: errors its retry target recovered are auto-resolved, the rest still
     * retrying become open, in one transaction. Returns the ids changed each way.
     */
    async closeRetryWindow(recovered: number[], exhausted: number[]): Promise<{ recovered: number[]; exhausted: number[] }> {
      const { raised, ...closed } = await store.closeRetryWindow(recovered, exhausted, now());
      await tell(raised, () => store.environmentsOf(exhausted));
      return closed;
    },

    /** Which of these errors are still in their retry window. */
    async stillRetrying(ids: number[]): Promise<number[]> {
      return store.stillRetrying(ids);
    },

    /** A user resolves errors (S6). Returns the ids resolved now. */
    async resolveErrors(environment: string, ids: number[], userEmail: string, via?: ActionSource): Promise<number[]> {
      const problems = checkResolveRequest({ environment, errorIds: ids, user: userEmail, via });
      if (problems.length > 0) throw inputFailure(problems);
      const result = await store.resolveByUser(environment, ids, userEmail, now(), via);
      await tell(result.raised ? [environment] : [], () => [environment]);
      return result.resolved;
    },
  };
}

export type ErrorActivities = ReturnType<typeof createErrorActivities>;
