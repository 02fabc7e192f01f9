/** What the environment digest workflow is asked and answers: its input, status, signals, queries and updates. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DigestActivities } from '../activities/digest-activities.js';

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
   * setting, as each fix reports it (a deploy with a new one reaches it at its next cycle with news,
   * or a quiet one's 4-hourly look: #40).
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
  /** Carried across continue-as-new: whether news was told that no fix has taken yet (#40; absent: a fix looks). */
  newsPending?: boolean;
  /** Carried across continue-as-new: when a rhythm holding news back falls due (ISO; #40). */
  heldUntil?: string;
}

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
  /** Messages to channels (S43): planned, and how their first attempts went (absent in cycles before channels). */
  channelMessages?: { planned: number; sent: number; failed: number; deferred: number };
  /** Every notification of the cycle, by transport (`email`, `slack`, `teams`, `webhook`, `pagerduty`; S49): how each stood when the cycle ended. */
  notifications?: Record<string, { sent: number; failed: number; deferred: number; cancelled: number }>;
  /**
   * One tally of every notification of the environment, by kind, then transport (S49): the cycle's
   * digests, and the connection changes, reminders, assignments and weekly reviews planned since
   * the cycle before was fixed, as each stood when the cycle ended.
   */
  tally?: Record<string, Record<string, { sent: number; failed: number; deferred: number; cancelled: number }>>;
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
 * The environment has news (#40): an error opened or resolved since the digest's last fix. A
 * digest not told runs no fix at its next cycle, unless a rhythm it holds news for falls due.
 */
export const digestNewsSignal = defineSignal('news');
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

/** A run continues as new after this long too, at its next wake-up, whatever its interval: its patches retire a day after a release. */
export const longestRunMs = 24 * 60 * 60_000;
