import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConnectionActivities } from '../activities/connection-activities.js';
import { databaseActivity } from './activity-options.js';
import { labelRun } from './run-labels.js';
import { failureForCaller, refusalIn } from './failures.js';
import { workflowNow } from './workflow-time.js';
import { WakeUp } from './wake-up.js';
import { takesPatch } from './patches.js';
import type { ConnectionReport, ConnectionState } from '../contracts/error-report.js';

export type { ConnectionReport, ConnectionState } from '../contracts/error-report.js';

const { checkConnectionReport, recordConnectionChange } = proxyActivities<ConnectionActivities>(databaseActivity);
const { sendConnectionEmails } = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '5 minutes',
  // As for digests: a worker that dies while sending is noticed within 20 s, and the retry resumes at once.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** The small state a connection's workflow keeps, carried across continue-as-new. */
export interface ConnectionStatusState {
  current?: { status: ConnectionState; reason: string | null; since: string };
  /** The last status emailed to subscribers. */
  notified?: ConnectionState;
  /** Number of changes notified so far: the idempotency key of the next one. */
  sequence: number;
  graceMs?: number;
  /** Workflow time (ms) at which an offline that has not recovered is notified. */
  offlineDueAt?: number;
}

export const reportStatusUpdate = defineUpdate<{ changed: boolean }, [ConnectionReport]>('reportStatus');
export const connectionStatusQuery = defineQuery<ConnectionStatusState>('status');

/** Reports handled per run before continuing as new. */
const reportsPerRun = 500;

export interface ConnectionStatusInput {
  connection: string;
  /** Carried across continue-as-new. */
  state?: ConnectionStatusState;
  /** Reports per run before it continues as new (default 500; tests use fewer). */
  reportsPerRun?: number;
}

/**
 * One per connection (S14, S15): keeps its status, ignores repeats, and on a real change emails
 * every subscriber once. An offline that recovers within the grace period sends nothing; one
 * that lasts sends "offline", and the recovery then sends "back online".
 */
export async function connectionStatus(input: ConnectionStatusInput): Promise<void> {
  const maxReports = input.reportsPerRun ?? reportsPerRun;
  const state: ConnectionStatusState = input.state ?? { sequence: 0 };
  let reports = 0;
  // Set by each change, so the loop re-reads the offline deadline.
  let changed = false;
  const toNotify: { status: ConnectionState; reason: string | null; since: string }[] = [];
  /** The change whose emails are being sent now, if any. */
  let notifying: ConnectionState | undefined;

  setHandler(connectionStatusQuery, () => state);
  setHandler(reportStatusUpdate, async (report) => {
    try {
      // The activity checks the report before it enters the state (a NUL in its reason, say, could
      // never be stored): zod stays out of the workflows, whose modules each cached run evaluates
      // again (#40). Read with care until then: the report may be anything a caller sent.
      const environment = typeof report === 'object' && report !== null ? String(report.environment) : '';
      state.graceMs = (await checkConnectionReport(environment, input.connection, report)).graceMs;
    } catch (error) {
      throw failureForCaller(error);
    }
    reports += 1;
    labelRun({ environment: report.environment });
    if (state.current?.status === report.status) return { changed: false };
    state.current = { status: report.status, reason: report.reason ?? null, since: new Date(workflowNow()).toISOString() };
    changed = true;
    if (report.status === 'offline') {
      state.offlineDueAt = workflowNow() + state.graceMs;
    } else {
      state.offlineDueAt = undefined;
      // Told of the offline, or being told now (its emails may be out before the sending answers): the recovery is news.
      if (state.notified === 'offline' || (notifying === 'offline' && takesPatch('recovery-while-offline-is-told'))) toNotify.push(state.current);
    }
    return { changed: true };
  });

  const wakeUp = new WakeUp();
  /** Waits for a report or the offline deadline; a report never cancels the deadline's timer. */
  async function waitUntil(woken: () => boolean, dueAt: number | undefined): Promise<void> {
    if (dueAt === undefined) return condition(woken);
    if (!takesPatch('reports-leave-the-timer')) return void (await condition(woken, Math.max(0, dueAt - workflowNow())));
    if (woken()) return;
    const rung = wakeUp.rung(dueAt);
    await condition(() => rung() || woken());
  }

  for (;;) {
    const offlineDue = () => state.offlineDueAt !== undefined && workflowNow() >= state.offlineDueAt;
    const woken = () => changed || toNotify.length > 0 || offlineDue() || reports >= maxReports;
    await waitUntil(woken, state.offlineDueAt);
    changed = false;
    if (offlineDue() && state.current?.status === 'offline') {
      state.offlineDueAt = undefined;
      if (state.notified !== 'offline') toNotify.push(state.current);
    }
    for (let change = toNotify.shift(); change; change = toNotify.shift()) {
      // A recovery queued while its offline was being told, whose telling was refused for good: no news.
      if (change.status === 'online' && state.notified !== 'offline' && takesPatch('recovery-while-offline-is-told')) continue;
      state.sequence += 1;
      notifying = change.status;
      try {
        const eventId = await recordConnectionChange(input.connection, state.sequence, change.status, change.reason, change.since);
        const { sent } = await sendConnectionEmails(eventId);
        state.notified = change.status;
        labelRun({ outcome: change.status, summary: `${change.status} since ${change.since}; ${sent} subscriber(s) emailed` });
      } catch (error) {
        // A change Herald refuses for good (a data error) is recorded in the log and the memo; the
        // connection's later changes still go out (S35).
        const refusal = refusalIn(error);
        if (!refusal) throw error;
        log.warn('connection change refused', { connection: input.connection, sequence: state.sequence, error: String(refusal) });
        labelRun({ outcome: 'refused', summary: `change ${state.sequence} (${change.status}) refused: ${refusal.message}` });
      }
      notifying = undefined;
    }
    if (reports >= maxReports || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof connectionStatus>({ ...input, state });
    }
  }
}
