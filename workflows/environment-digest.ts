import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { DigestActivities } from '../activities/digest-activities.js';
import { databaseActivity } from './activity-options.js';
import { labelRun } from './run-labels.js';
import { workflowNow } from './workflow-time.js';

const { lastDigestCycle, fixDigestCycle, completeDigestCycle, digestInterval } =
  proxyActivities<DigestActivities>(databaseActivity);

/**
 * Sending: each attempt is bounded; an SMTP outage is retried with backoff for as long as it
 * lasts, so digests are sent late rather than dropped (S12).
 */
function sendingActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<DigestActivities>({
    startToCloseTimeout: '10 minutes',
    // A worker that dies mid-batch stops heartbeating: the batch is retried elsewhere after this.
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
}

export interface EnvironmentDigestInput {
  environment: string;
  /** A fixed interval; without it, each wait follows the workers' HERALD_DIGEST_INTERVAL. */
  intervalMs?: number;
  /** Carried across continue-as-new: the last cycle run. */
  lastCycle?: number;
  lastSummary?: CycleSummary;
  /** A run-now request that arrived while continuing as new. */
  runNowPending?: boolean;
  /** Cycles per run before continuing as new; default {@link cyclesPerRun}. */
  cyclesPerRun?: number;
  /** Heartbeat timeout of the sending activity; default 2 minutes. */
  sendHeartbeatTimeoutMs?: number;
}

/** One cycle, as the status query and the `runCycleNow` update report it. */
export interface CycleSummary {
  number: number;
  newErrors: number;
  resolvedErrors: number;
  emails: number;
  sent: number;
  failed: number;
  finishedAt: string;
}

export interface DigestStatus {
  environment: string;
  intervalMs: number;
  lastCycle: number;
  lastSummary?: CycleSummary;
  /** ISO time of the next cycle (or "not yet known" while starting). */
  nextCycleAt: string;
  state: 'waiting' | 'running cycle' | 'stopping';
}

export const digestStatusQuery = defineQuery<DigestStatus>('status');
/** Run a cycle now instead of at the next wake-up. */
export const runNowSignal = defineSignal('runNow');
/** Run a cycle now and answer with its summary. */
export const runCycleNowUpdate = defineUpdate<CycleSummary>('runCycleNow');
/** End the workflow after the cycle in progress, if any. */
export const stopDigestSignal = defineSignal('stop');

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
  let lastCycle = input.lastCycle ?? -1;
  let lastSummary = input.lastSummary;
  let runNow = input.runNowPending ?? false;
  let stopping = false;
  let running = false;
  let nextCycleAt = Number.POSITIVE_INFINITY;

  setHandler(digestStatusQuery, () => ({
    environment: input.environment,
    intervalMs,
    lastCycle,
    lastSummary,
    nextCycleAt: Number.isFinite(nextCycleAt) ? new Date(nextCycleAt).toISOString() : 'not yet known',
    state: stopping ? 'stopping' : running ? 'running cycle' : 'waiting',
  }));
  setHandler(runNowSignal, () => {
    runNow = true;
  });
  setHandler(stopDigestSignal, () => {
    stopping = true;
  });
  setHandler(runCycleNowUpdate, async () => {
    await condition(() => lastCycle >= 0);
    // The next cycle to start: one already under way fixed its content before this request.
    const target = lastCycle + (running ? 2 : 1);
    runNow = true;
    await condition(() => lastCycle >= target);
    return lastSummary!;
  });
  labelRun({ environment: input.environment });
  if (lastCycle < 0) lastCycle = await lastDigestCycle(input.environment);
  const currentInterval = async () => input.intervalMs ?? (await digestInterval());
  intervalMs = await currentInterval();
  nextCycleAt = workflowNow() + intervalMs;

  for (let cycles = 0; ; cycles += 1) {
    if (cycles >= (input.cyclesPerRun ?? cyclesPerRun) || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof environmentDigest>({
        ...input,
        lastCycle,
        lastSummary,
        runNowPending: runNow,
      });
    }
    // Wake at the next cycle time, or earlier when asked.
    const wait = nextCycleAt - workflowNow();
    if (wait > 0) await condition(() => runNow || stopping, wait);
    if (stopping) {
      await condition(allHandlersFinished);
      return;
    }
    runNow = false;
    running = true;
    lastSummary = await runCycle(input.environment, lastCycle + 1, input.sendHeartbeatTimeoutMs ?? 120_000);
    lastCycle = lastSummary.number;
    running = false;
    intervalMs = await currentInterval();
    nextCycleAt = workflowNow() + intervalMs;
    labelRun({
      outcome: lastSummary.failed > 0 ? 'some refused' : lastSummary.emails > 0 ? 'sent' : 'nothing new',
      summary: `cycle ${lastCycle}: ${lastSummary.newErrors} new, ${lastSummary.resolvedErrors} resolved, ${lastSummary.sent} emails sent`,
    });
  }
}

async function runCycle(environment: string, number: number, heartbeatTimeoutMs: number): Promise<CycleSummary> {
  const { sendDigestBatch } = sendingActivities(heartbeatTimeoutMs);
  const fixed = await fixDigestCycle(environment, number);
  if (fixed.deliveryCount > 0) {
    for (;;) {
      const batch = await sendDigestBatch(fixed.cycleId);
      if (batch.remaining === 0) break;
    }
  }
  const { sent, failed } = await completeDigestCycle(fixed.cycleId);
  return {
    number,
    newErrors: fixed.newCount,
    resolvedErrors: fixed.resolvedCount,
    emails: fixed.deliveryCount,
    sent,
    failed,
    finishedAt: new Date(workflowNow()).toISOString(),
  };
}
