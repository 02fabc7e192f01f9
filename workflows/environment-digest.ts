import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { DigestActivities } from '../activities/digest-activities.js';
import { databaseActivity } from './activity-options.js';
import { labelRun } from './run-labels.js';
import { workflowNow } from './workflow-time.js';
import { isRefusal } from './failures.js';
import { inputFailure } from '../contracts/input-failure.js';

const { lastDigestCycle, fixDigestCycle, completeDigestCycle, digestInterval } =
  proxyActivities<DigestActivities>(databaseActivity);

/**
 * Sending: each attempt is bounded; an SMTP or database outage is retried with backoff for as
 * long as it lasts, so digests are sent late rather than dropped (S12, S33).
 */
function sendingActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<DigestActivities>({
    startToCloseTimeout: '10 minutes',
    // A worker that dies mid-batch stops heartbeating: the batch is retried elsewhere after this
    // (the sender heartbeats every 2 s; the SDK sends at most one per 80 % of this timeout).
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
}

/** Heartbeat timeout of sending, unless the input sets one: a dead worker's batch resumes within about 25 s. */
const defaultSendHeartbeatTimeoutMs = 20_000;

export interface EnvironmentDigestInput {
  environment: string;
  /**
   * Time between cycles (HERALD_DIGEST_INTERVAL when the digest is started); changed by the
   * `setInterval` update. Without it (digests started by older workers), the workers' interval
   * is asked once.
   */
  intervalMs?: number;
  /**
   * Carried across continue-as-new: an operator chose `intervalMs` (`herald digest interval`), and
   * it stays whatever the workers' HERALD_DIGEST_INTERVAL. Otherwise the digest follows the workers'
   * setting, as each cycle reports it (a deploy with a new one reaches it at its next cycle).
   */
  intervalChosen?: boolean;
  /** Carried across continue-as-new: the last cycle run. */
  lastCycle?: number;
  lastSummary?: CycleSummary;
  /** A run-now request that arrived while continuing as new. */
  runNowPending?: boolean;
  /** Cycles per run before continuing as new; default {@link cyclesPerRun}. */
  cyclesPerRun?: number;
  /** Heartbeat timeout of the sending activity; default 20 seconds. */
  sendHeartbeatTimeoutMs?: number;
  /** Carried across continue-as-new: when the next deferred delivery is due (ISO). */
  nextRetryAt?: string;
  /** Carried across continue-as-new: when reminders are next looked for (ISO; S31). */
  nextReminderCheckAt?: string;
}

/** How often a digest looks for users to remind of errors still open (each is reminded once a day at most). */
const reminderCheckMs = 60 * 60_000;

/** One cycle, as the status query and the `runCycleNow` update report it. */
export interface CycleSummary {
  number: number;
  newErrors: number;
  resolvedErrors: number;
  emails: number;
  sent: number;
  failed: number;
  /** Recipients refused for now, to be tried again (S34). */
  deferred?: number;
  /** Users who left or unsubscribed after the cycle was fixed (S38). */
  cancelled?: number;
  finishedAt: string;
}

export interface DigestStatus {
  environment: string;
  intervalMs: number;
  /** Whose interval it is: an operator's choice, or the workers' HERALD_DIGEST_INTERVAL. */
  intervalFrom: 'operator' | 'workers';
  lastCycle: number;
  lastSummary?: CycleSummary;
  /** ISO time of the next cycle (or "not yet known" while starting). */
  nextCycleAt: string;
  state: 'waiting' | 'running cycle' | 'stopping';
  /** While a cycle runs: since when (ISO). */
  runningSince?: string;
  /** When the next deferred delivery is due (ISO), if any. */
  nextRetryAt?: string;
  /** The last cycle that Herald refused (a data error), and why. */
  lastRefusal?: string;
}

export const digestStatusQuery = defineQuery<DigestStatus>('status');
/** Run a cycle now instead of at the next wake-up. */
export const runNowSignal = defineSignal('runNow');
/** Run a cycle now and answer with its summary. */
export const runCycleNowUpdate = defineUpdate<CycleSummary>('runCycleNow');
/** End the workflow after the cycle in progress, if any. */
export const stopDigestSignal = defineSignal('stop');
/**
 * An operator changes the time between cycles; the next cycle comes that long after the last one,
 * and the choice outlives deploys. `null` hands the digest back to the workers' HERALD_DIGEST_INTERVAL
 * (from its next cycle). Answers the status.
 */
export const setIntervalUpdate = defineUpdate<DigestStatus, [number | null]>('setInterval');

/** One look for errors to remind of (S31): reminders planned, and how their emails went. */
export type ReminderRound = Awaited<ReturnType<DigestActivities['sendReminders']>>;
/**
 * Look for errors to remind of now, not at the next hourly look; answers what it found. Each user
 * is still reminded once a day at most.
 */
export const remindNowUpdate = defineUpdate<ReminderRound>('remindNow');

/** Bounds of the digest interval: a second to a week. */
export const digestIntervalBounds = { minMs: 1_000, maxMs: 7 * 24 * 60 * 60_000 } as const;

/** Cycles per run before continuing as new (a day of 15-minute cycles), whatever the history size. */
export const cyclesPerRun = 96;

/**
 * The environment's digest (S7–S12): every interval, one cycle fixes what is new and newly
 * resolved and emails each subscribed user once. Long-lived: it continues as new to keep its
 * history small, carrying only its small state.
 */
export async function environmentDigest(input: EnvironmentDigestInput): Promise<void> {
  // Both known after the first activities; handlers are registered before any await.
  let intervalMs = input.intervalMs ?? 0;
  let intervalChosen = input.intervalChosen ?? false;
  let lastCycle = input.lastCycle ?? -1;
  let lastSummary = input.lastSummary;
  let runNow = input.runNowPending ?? false;
  let stopping = false;
  // Set once the digest ends for a stop: run-now requests still waiting for a cycle are refused.
  let stopped = false;
  let runningSince: number | undefined;
  let nextCycleAt = Number.POSITIVE_INFINITY;
  let lastCycleEndedAt = workflowNow();
  let intervalChanged = false;
  let nextRetryAt = input.nextRetryAt ? Date.parse(input.nextRetryAt) : undefined;
  let nextReminderCheckAt = input.nextReminderCheckAt ? Date.parse(input.nextReminderCheckAt) : undefined;
  let lastRefusal: string | undefined;
  // Reminder looks asked for by `remindNow`, and those done: one look answers every request before it.
  let remindRequests = 0;
  let remindRequestsDone = 0;
  let lastReminderRound: ReminderRound | undefined;
  const remindPending = () => remindRequestsDone < remindRequests;
  /** Looks for errors to remind of now, by this workflow's clock (S31). */
  const lookForReminders = () => sendingActivities(heartbeatTimeoutMs).sendReminders(input.environment, new Date(workflowNow()).toISOString());
  const heartbeatTimeoutMs = input.sendHeartbeatTimeoutMs ?? defaultSendHeartbeatTimeoutMs;
  const iso = (ms: number | undefined) => (ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined);

  const status = (): DigestStatus => ({
    environment: input.environment,
    intervalMs,
    intervalFrom: intervalChosen ? 'operator' : 'workers',
    lastCycle,
    lastSummary,
    nextCycleAt: iso(nextCycleAt) ?? 'not yet known',
    state: stopping ? 'stopping' : runningSince !== undefined ? 'running cycle' : 'waiting',
    ...(runningSince !== undefined && { runningSince: iso(runningSince) }),
    ...(nextRetryAt !== undefined && { nextRetryAt: iso(nextRetryAt) }),
    ...(lastRefusal !== undefined && { lastRefusal }),
  });
  setHandler(digestStatusQuery, status);
  setHandler(
    setIntervalUpdate,
    (ms) => {
      intervalChosen = ms !== null;
      if (ms === null) return status();
      intervalMs = ms;
      nextCycleAt = lastCycleEndedAt + ms;
      intervalChanged = true;
      return status();
    },
    {
      validator: (ms) => {
        if (ms !== null && (!Number.isInteger(ms) || ms < digestIntervalBounds.minMs || ms > digestIntervalBounds.maxMs)) {
          throw inputFailure([
            { field: 'interval', message: `must be a whole number of milliseconds from ${digestIntervalBounds.minMs} (1 s) to ${digestIntervalBounds.maxMs} (7 days)` },
          ]);
        }
      },
    },
  );
  setHandler(runNowSignal, () => {
    runNow = true;
  });
  setHandler(stopDigestSignal, () => {
    stopping = true;
  });
  setHandler(runCycleNowUpdate, async () => {
    await condition(() => lastCycle >= 0);
    // The next cycle to start: one already under way fixed its content before this request.
    const target = lastCycle + (runningSince !== undefined ? 2 : 1);
    runNow = true;
    await condition(() => lastCycle >= target || stopped);
    if (lastCycle < target) {
      throw ApplicationFailure.create({
        type: 'DigestStopped',
        message: `the digest of ${input.environment} was stopped before cycle ${target} ran`,
        nonRetryable: true,
      });
    }
    return lastSummary!;
  });
  setHandler(remindNowUpdate, async () => {
    const request = (remindRequests += 1);
    await condition(() => remindRequestsDone >= request);
    return lastReminderRound!;
  });
  labelRun({ environment: input.environment });
  if (lastCycle < 0) lastCycle = await lastDigestCycle(input.environment);
  const currentInterval = async () => input.intervalMs ?? (await digestInterval());
  intervalMs = await currentInterval();
  nextCycleAt = lastCycleEndedAt + intervalMs;

  for (let cycles = 0; ; cycles += 1) {
    const runFull = cycles >= (input.cyclesPerRun ?? cyclesPerRun) || workflowInfo().continueAsNewSuggested;
    // A run-now or remind-now request keeps its handler open until its cycle or look is done: that
    // runs here first, or waiting for every handler to finish would wait for ever (as runs started
    // before the patch did for run-now).
    if (runFull && !(runNow && patched('answer-run-now-before-continuing')) && !remindPending()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof environmentDigest>({
        ...input,
        lastCycle,
        lastSummary,
        intervalMs,
        intervalChosen,
        runNowPending: runNow,
        nextRetryAt: iso(nextRetryAt),
        nextReminderCheckAt: iso(nextReminderCheckAt),
      });
    }
    // Wake at the next cycle time, or for the deferred deliveries due before it, or earlier when asked.
    const wait = Math.min(nextCycleAt, nextRetryAt ?? Number.POSITIVE_INFINITY) - workflowNow();
    if (wait > 0) await condition(() => runNow || stopping || intervalChanged || remindPending(), wait);
    if (intervalChanged) {
      intervalChanged = false;
      if (!runNow && !stopping) continue;
    }
    // A look asked for is done before the digest stops: its caller waits for the answer. (Runs
    // started before the patch waited for ever when a run-now request was pending too.)
    const stopNow = stopping && patched('answer-requests-at-stop');
    if (remindPending() && (!runNow || stopNow)) {
      const answered = remindRequests;
      lastReminderRound = await lookForReminders();
      remindRequestsDone = answered;
      continue;
    }
    if (stopping) {
      // A run-now request still waiting is answered: the digest stops instead of running its cycle.
      stopped = stopNow;
      await condition(allHandlersFinished);
      return;
    }
    if (!runNow && workflowNow() < nextCycleAt && nextRetryAt !== undefined && patched('deferred-deliveries')) {
      const { sendDueDeliveries } = sendingActivities(heartbeatTimeoutMs);
      const round = await sendDueDeliveries(input.environment);
      // Never sooner than a second from now: a round that found nothing due must not spin.
      nextRetryAt = round.nextRetryAt ? Math.max(Date.parse(round.nextRetryAt), workflowNow() + 1_000) : undefined;
      continue;
    }
    runNow = false;
    runningSince = workflowNow();
    try {
      const { summary, retryAt, workersIntervalMs } = await runCycle(input.environment, lastCycle + 1, heartbeatTimeoutMs);
      // A deploy with a new HERALD_DIGEST_INTERVAL reaches the digests no operator set (from cycles whose fix reports it).
      if (!intervalChosen && workersIntervalMs !== undefined) intervalMs = workersIntervalMs;
      lastSummary = summary;
      lastCycle = summary.number;
      nextRetryAt = retryAt;
      lastRefusal = undefined;
    } catch (error) {
      // A cycle Herald refuses for good (a data error) is recorded; the next one is tried at its time (S35).
      if (!isRefusal(error)) throw error;
      lastRefusal = `cycle ${lastCycle + 1}: ${error.cause?.message ?? 'refused'}`;
      log.warn('digest cycle refused', { environment: input.environment, refusal: lastRefusal });
      labelRun({ outcome: 'refused', summary: lastRefusal });
    }
    runningSince = undefined;
    // Digests started before the interval was their input asked the workers after every cycle.
    if (!patched('digest-interval-as-input')) intervalMs = await currentInterval();
    lastCycleEndedAt = workflowNow();
    nextCycleAt = lastCycleEndedAt + intervalMs;
    if (lastRefusal) continue;
    // Reminders of errors still open (S31), looked for hourly after a cycle, by this workflow's clock.
    if (workflowNow() >= (nextReminderCheckAt ?? 0) && patched('daily-reminders')) {
      await lookForReminders();
      nextReminderCheckAt = workflowNow() + reminderCheckMs;
    }
    labelRun({
      outcome: lastSummary!.failed > 0 ? 'some refused' : lastSummary!.emails > 0 ? 'sent' : 'nothing new',
      summary: `cycle ${lastCycle}: ${lastSummary!.newErrors} new, ${lastSummary!.resolvedErrors} resolved, ${lastSummary!.sent} emails sent`,
    });
  }
}

async function runCycle(
  environment: string,
  number: number,
  heartbeatTimeoutMs: number,
): Promise<{ summary: CycleSummary; retryAt: number | undefined; workersIntervalMs: number | undefined }> {
  const { sendDigestBatch } = sendingActivities(heartbeatTimeoutMs);
  const fixed = await fixDigestCycle(environment, number);
  if (fixed.deliveryCount > 0) {
    for (;;) {
      const batch = await sendDigestBatch(fixed.cycleId);
      if (batch.remaining === 0) break;
    }
  }
  const completed = await completeDigestCycle(fixed.cycleId);
  const summary: CycleSummary = {
    number,
    newErrors: fixed.newCount,
    resolvedErrors: fixed.resolvedCount,
    emails: fixed.deliveryCount,
    sent: completed.sent,
    failed: completed.failed,
    deferred: completed.deferred,
    cancelled: completed.cancelled,
    finishedAt: new Date(workflowNow()).toISOString(),
  };
  return { summary, retryAt: completed.nextRetryAt ? Date.parse(completed.nextRetryAt) : undefined, workersIntervalMs: fixed.workersIntervalMs };
}
