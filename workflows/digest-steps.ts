/**
 * The steps of the environment digest (environment-digest.ts runs them in turn), over one small
 * state that its handlers change too. Each step reads alone: what it waits for, what it asks of
 * the activities, what it leaves in the state.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  makeContinueAsNewFunc,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { DigestActivities } from '../activities/digest-activities.js';
import { inputFailure } from '../contracts/input-failure.js';
import { databaseActivity, localDatabaseActivity } from './activity-options.js';
import { refusalIn } from './failures.js';
import { recordCycle } from './digest-metrics.js';
import { takesPatch } from './patches.js';
import { heraldSearchAttributes, labelRun } from './run-labels.js';
import { workflowNow } from './workflow-time.js';
import { WakeUp } from './wake-up.js';
import {
  cyclesPerRun,
  digestIntervalBounds,
  digestNewsSignal,
  digestStatusQuery,
  longestRunMs,
  remindNowUpdate,
  runCycleNowUpdate,
  runNowSignal,
  setIntervalUpdate,
  stopDigestSignal,
  type CycleSummary,
  type DigestStatus,
  type EnvironmentDigestInput,
  type ReminderRound,
} from './digest-contract.js';

const { lastDigestCycle, fixDigestCycle, completeDigestCycle, digestInterval } =
  proxyActivities<DigestActivities>(databaseActivity);
/** A cycle's fix, inside the workflow task its timer woke: one task for the server per quiet cycle. */
const local = proxyLocalActivities<DigestActivities>(localDatabaseActivity);

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

/**
 * How often a digest looks for users to remind of errors still open (each is reminded once a day at
 * most) when no look said when the next may find someone (a worker before #40), and how soon after
 * news it looks.
 */
const reminderCheckMs = 60 * 60_000;

/** Where a digest run stands. Times are milliseconds of workflow time. */
export interface DigestState {
  readonly input: EnvironmentDigestInput;
  readonly environment: string;
  readonly heartbeatTimeoutMs: number;
  readonly runStartedAt: number;
  /** The time between cycles, whose choice it is, and whether an operator changed it while the digest waited. */
  intervalMs: number;
  intervalChosen: boolean;
  intervalChanged: boolean;
  lastCycle: number;
  lastSummary?: CycleSummary;
  /** The last cycle Herald refused (a data error), and why; cleared by the next cycle that runs. */
  lastRefusal?: string;
  lastCycleEndedAt: number;
  nextCycleAt: number;
  /** While a cycle runs: since when. */
  runningSince?: number;
  /** A run-now request waits for its cycle. */
  runNow: boolean;
  /** A stop was asked for. */
  stopping: boolean;
  /** The stop answers requests still waiting (runs from before patch answer-requests-at-stop did not). */
  stopAnswersRequests: boolean;
  /** The digest ended for a stop: run-now requests still waiting for a cycle are refused. */
  stopped: boolean;
  /** When the next deferred delivery is due. */
  nextRetryAt?: number;
  /** When reminders are next looked for (S31). */
  nextReminderCheckAt?: number;
  /** Reminder looks asked for by `remindNow`, and those done: one look answers every request before it. */
  remindAsked: number;
  remindDone: number;
  lastReminderRound?: ReminderRound;
  /** The timer the digest sleeps on (never cancelled by a request). */
  readonly wakeUp: WakeUp;
  /** News was told (the `news` signal) since the last fix began, or a fix is owed (#40). */
  news: boolean;
  /** When a person or channel whose rhythm holds news back falls due (#40). */
  heldUntil?: number;
  /** When the last fix began: a quiet digest still looks every {@link lookAtLeastEveryMs}. */
  lastFixAt: number;
}

/**
 * A quiet digest still runs a fix this often (#40): for news that no writer told it of, as those
 * of a release before the news signal write during a rolling deploy, or rows written by hand.
 */
const lookAtLeastEveryMs = 4 * 60 * 60_000;

/** The state a run starts from: what the previous run carried over, the rest learnt in {@link learnWhereItStands}. */
export function startingState(input: EnvironmentDigestInput): DigestState {
  const now = workflowNow();
  return {
    input,
    environment: input.environment,
    heartbeatTimeoutMs: input.sendHeartbeatTimeoutMs ?? defaultSendHeartbeatTimeoutMs,
    runStartedAt: now,
    intervalMs: input.intervalMs ?? 0,
    intervalChosen: input.intervalChosen ?? false,
    intervalChanged: false,
    lastCycle: input.lastCycle ?? -1,
    lastSummary: input.lastSummary,
    lastCycleEndedAt: now,
    nextCycleAt: Number.POSITIVE_INFINITY,
    runNow: input.runNowPending ?? false,
    stopping: false,
    stopAnswersRequests: false,
    stopped: false,
    nextRetryAt: input.nextRetryAt ? Date.parse(input.nextRetryAt) : undefined,
    nextReminderCheckAt: input.nextReminderCheckAt ? Date.parse(input.nextReminderCheckAt) : undefined,
    remindAsked: 0,
    remindDone: 0,
    wakeUp: new WakeUp(),
    news: input.newsPending ?? true,
    heldUntil: input.heldUntil ? Date.parse(input.heldUntil) : undefined,
    lastFixAt: now,
  };
}

const remindPending = (d: DigestState) => d.remindDone < d.remindAsked;
const iso = (ms: number | undefined) => (ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined);

export function digestStatus(d: DigestState): DigestStatus {
  return {
    environment: d.environment,
    intervalMs: d.intervalMs,
    intervalFrom: d.intervalChosen ? 'operator' : 'workers',
    lastCycle: d.lastCycle,
    lastSummary: d.lastSummary,
    nextCycleAt: iso(d.nextCycleAt) ?? 'not yet known',
    state: d.stopping ? 'stopping' : d.runningSince !== undefined ? 'running cycle' : 'waiting',
    ...(d.runningSince !== undefined && { runningSince: iso(d.runningSince) }),
    ...(d.nextRetryAt !== undefined && { nextRetryAt: iso(d.nextRetryAt) }),
    ...(d.lastRefusal !== undefined && { lastRefusal: d.lastRefusal }),
  };
}

/** The status query, and the requests operators send: they change the state, the steps act on it. */
export function setDigestHandlers(d: DigestState): void {
  setHandler(digestStatusQuery, () => digestStatus(d));
  setHandler(
    setIntervalUpdate,
    (ms) => {
      d.intervalChosen = ms !== null;
      if (ms === null) return digestStatus(d);
      d.intervalMs = ms;
      d.nextCycleAt = d.lastCycleEndedAt + ms;
      d.intervalChanged = true;
      return digestStatus(d);
    },
    { validator: checkInterval },
  );
  setHandler(runNowSignal, () => {
    d.runNow = true;
  });
  setHandler(stopDigestSignal, () => {
    d.stopping = true;
  });
  setHandler(digestNewsSignal, () => {
    d.news = true;
  });
  setHandler(runCycleNowUpdate, async () => {
    await condition(() => d.lastCycle >= 0);
    // The next cycle to start: one already under way fixed its content before this request.
    const target = d.lastCycle + (d.runningSince !== undefined ? 2 : 1);
    d.runNow = true;
    await condition(() => d.lastCycle >= target || d.stopped);
    if (d.lastCycle < target) {
      throw ApplicationFailure.create({
        type: 'DigestStopped',
        message: `the digest of ${d.environment} was stopped before cycle ${target} ran`,
        nonRetryable: true,
      });
    }
    return d.lastSummary!;
  });
  setHandler(remindNowUpdate, async () => {
    const request = (d.remindAsked += 1);
    await condition(() => d.remindDone >= request);
    return d.lastReminderRound!;
  });
}

function checkInterval(ms: number | null): void {
  if (ms !== null && (!Number.isInteger(ms) || ms < digestIntervalBounds.minMs || ms > digestIntervalBounds.maxMs)) {
    throw inputFailure([
      { field: 'interval', message: `must be a whole number of milliseconds from ${digestIntervalBounds.minMs} (1 s) to ${digestIntervalBounds.maxMs} (7 days)` },
    ]);
  }
}

/** The last cycle (a new digest asks the database), the interval, and so the time of the next cycle. */
export async function learnWhereItStands(d: DigestState): Promise<void> {
  if (d.lastCycle < 0) d.lastCycle = await lastDigestCycle(d.environment);
  const interval = await currentInterval(d);
  // An operator may have chosen one while this run was learning it.
  if (!d.intervalChosen) d.intervalMs = interval;
  d.nextCycleAt = d.lastCycleEndedAt + d.intervalMs;
}

/** The input's interval; digests started by older workers, without one, ask the workers. */
const currentInterval = async (d: DigestState) => d.input.intervalMs ?? (await digestInterval());

/**
 * Whether this run has done its share (96 cycles, a day, or a history Temporal finds long) and
 * nothing keeps it: a run-now or remind-now request keeps its handler open until its cycle or
 * look is done, so that runs first, or waiting for every handler to finish would wait for ever.
 */
export function timeToContinue(d: DigestState, cycles: number): boolean {
  const done =
    cycles >= (d.input.cyclesPerRun ?? cyclesPerRun) ||
    workflowInfo().continueAsNewSuggested ||
    (workflowNow() - d.runStartedAt >= longestRunMs && takesPatch('runs-end-within-a-day'));
  return done && !(d.runNow && takesPatch('answer-run-now-before-continuing')) && !remindPending(d);
}

/** Continues as new once every handler has answered, carrying only the small state. */
export async function continueAsNewWith(d: DigestState): Promise<never> {
  await condition(allHandlersFinished);
  // The next run starts with this one's labels (free as part of its start).
  const { memo, typedSearchAttributes } = workflowInfo();
  return makeContinueAsNewFunc<(input: EnvironmentDigestInput) => Promise<void>>({
    ...(memo && { memo }),
    typedSearchAttributes: heraldSearchAttributes.flatMap((key) => {
      const value = typedSearchAttributes.get(key);
      return value === undefined ? [] : [{ key, value }];
    }),
  })({
    ...d.input,
    lastCycle: d.lastCycle,
    lastSummary: d.lastSummary,
    intervalMs: d.intervalMs,
    intervalChosen: d.intervalChosen,
    runNowPending: d.runNow,
    nextRetryAt: iso(d.nextRetryAt),
    nextReminderCheckAt: iso(d.nextReminderCheckAt),
    newsPending: d.news,
    heldUntil: iso(d.heldUntil),
  });
}

/** Sleeps until the next cycle, or the deferred deliveries due before it, or a request. */
export async function waitForWork(d: DigestState): Promise<void> {
  const at = Math.min(d.nextCycleAt, d.nextRetryAt ?? Number.POSITIVE_INFINITY);
  const wait = at - workflowNow();
  if (wait <= 0) return;
  const asked = () => d.runNow || d.stopping || d.intervalChanged || remindPending(d);
  if (!takesPatch('requests-leave-the-timer')) return void (await condition(asked, wait));
  const rung = d.wakeUp.rung(at);
  await condition(() => rung() || asked());
}

export type DigestStep = 'wait again' | 'remind' | 'stop' | 'send deferred' | 'run cycle';

/** What the digest does on waking. */
export function chooseStep(d: DigestState): DigestStep {
  // A new interval only moves the next cycle: wait again, unless a request came with it.
  if (d.intervalChanged) {
    d.intervalChanged = false;
    if (!d.runNow && !d.stopping) return 'wait again';
  }
  // A look asked for is done before the digest stops: its caller waits for the answer.
  d.stopAnswersRequests = d.stopping && takesPatch('answer-requests-at-stop');
  if (remindPending(d) && (!d.runNow || d.stopAnswersRequests)) return 'remind';
  if (d.stopping) return 'stop';
  if (!d.runNow && workflowNow() < d.nextCycleAt && d.nextRetryAt !== undefined && takesPatch('deferred-deliveries')) return 'send deferred';
  return 'run cycle';
}

/** One look for errors to remind of (S31), answering every remind-now request made before it. */
export async function answerRemindRequests(d: DigestState): Promise<void> {
  const answered = d.remindAsked;
  d.lastReminderRound = await lookForReminders(d);
  d.remindDone = answered;
}

/** Ends the digest once every handler has answered; a run-now request still waiting is refused (the digest stops instead of running its cycle). */
export async function stop(d: DigestState): Promise<void> {
  d.stopped = d.stopAnswersRequests;
  await condition(allHandlersFinished);
}

/** Sends the deliveries deferred by a 4xx that are due (S34); never wakes again sooner than a second from now. */
export async function sendDeferred(d: DigestState): Promise<void> {
  const round = await sendingActivities(d.heartbeatTimeoutMs).sendDueDeliveries(d.environment);
  d.nextRetryAt = round.nextRetryAt ? Math.max(Date.parse(round.nextRetryAt), workflowNow() + 1_000) : undefined;
}

/**
 * Whether the cycle due now has nothing to fix (#40): no news told since the last fix, no request,
 * no rhythm holding news back falls due, and the last look is recent. Such a cycle costs its timer
 * alone: the digest sleeps again until the next.
 */
export function nothingToFix(d: DigestState): boolean {
  const now = workflowNow();
  if (d.news || d.runNow || (d.heldUntil !== undefined && now >= d.heldUntil) || now - d.lastFixAt >= lookAtLeastEveryMs) return false;
  return takesPatch('quiet-cycles-sleep');
}

/** Passes a cycle with nothing to fix: the next is an interval from now; a look for reminders due is done at the cycle nearest it. */
export async function sleepThroughCycle(d: DigestState): Promise<void> {
  d.lastCycleEndedAt = workflowNow();
  d.nextCycleAt = d.lastCycleEndedAt + d.intervalMs;
  await remindIfDue(d, d.intervalMs / 2);
}

/**
 * Runs the next cycle (S7–S12): fixes what is new and newly resolved, sends each recipient's
 * email, and records how it went. A cycle Herald refuses for good (a data error) is recorded, and
 * the next one is tried at its time (S35). Answers whether the cycle ran.
 */
export async function runCycle(d: DigestState): Promise<boolean> {
  const dueAt = d.runNow ? undefined : d.nextCycleAt;
  d.runNow = false;
  const startedAt = (d.runningSince = workflowNow());
  // News told from here on is for the next cycle: this fix may begin reading before it is stored.
  d.news = false;
  d.lastFixAt = startedAt;
  let ran = true;
  try {
    const { summary, retryAt, workersIntervalMs, heldUntil } = await fixAndSend(d.environment, d.lastCycle + 1, d.heartbeatTimeoutMs);
    d.heldUntil = heldUntil;
    // A deploy with a new HERALD_DIGEST_INTERVAL reaches the digests no operator set (from cycles whose fix reports it).
    if (!d.intervalChosen && workersIntervalMs !== undefined) d.intervalMs = workersIntervalMs;
    d.lastSummary = summary;
    d.lastCycle = summary.number;
    if (summary.newErrors > 0) lookSoonAfterNews(d);
    d.nextRetryAt = retryAt;
    d.lastRefusal = undefined;
    recordCycle({ dueAt, startedAt, endedAt: workflowNow() });
  } catch (error) {
    const refusal = refusalIn(error);
    if (!refusal) throw error;
    ran = false;
    // The news the refused cycle took is still to be told: the next cycle tries again.
    d.news = true;
    d.lastRefusal = `cycle ${d.lastCycle + 1}: ${refusal.message}`;
    log.warn('digest cycle refused', { environment: d.environment, refusal: d.lastRefusal });
    labelRun({ outcome: 'refused', summary: d.lastRefusal });
  }
  d.runningSince = undefined;
  // Digests started before the interval was their input asked the workers after every cycle.
  if (!takesPatch('digest-interval-as-input')) d.intervalMs = await currentInterval(d);
  d.lastCycleEndedAt = workflowNow();
  d.nextCycleAt = d.lastCycleEndedAt + d.intervalMs;
  return ran;
}

/**
 * Looks for errors to remind of (S31) when a look is due, by this workflow's clock. A
 * look due within `withinMs` is done now: a cycle that slept through (#40) comes at its exact time,
 * a hair before a look set an hour after the end of a cycle that ran.
 */
export async function remindIfDue(d: DigestState, withinMs = 0): Promise<void> {
  if (workflowNow() + withinMs >= (d.nextReminderCheckAt ?? 0) && takesPatch('daily-reminders')) {
    const round = await lookForReminders(d);
    d.nextReminderCheckAt = nextLookAfter(round);
  }
}

/**
 * When to look for reminders next: an hour from now, or (#40) when the look said someone may be
 * due — a minute from now at the soonest — and not before news when nothing is open.
 */
function nextLookAfter(round: ReminderRound): number {
  const hourly = workflowNow() + reminderCheckMs;
  if (round.nextLookAt === undefined || !takesPatch('reminder-looks-when-due')) return hourly;
  return round.nextLookAt === null ? Number.POSITIVE_INFINITY : Math.max(Date.parse(round.nextLookAt), workflowNow() + 60_000);
}

/** News brings a look within the hour (#40): it works out when the new errors pass the threshold. */
function lookSoonAfterNews(d: DigestState): void {
  if ((d.nextReminderCheckAt ?? 0) > workflowNow() + reminderCheckMs && takesPatch('reminder-looks-when-due')) {
    d.nextReminderCheckAt = workflowNow() + reminderCheckMs;
  }
}

/** The memo of a run whose cycles have had nothing to tell since the one it names. */
const quietSince = (cycle: number) => `quiet since cycle ${cycle}: nothing new, no email`;

/**
 * The run's outcome and one-line summary in the Temporal UI. A quiet cycle (nothing new or
 * resolved, no email) changes them only when it ends a stretch of news: a quiet environment's
 * cycles write nothing (each change is an action).
 */
export function labelCycle(d: DigestState): void {
  const s = d.lastSummary!;
  if (s.newErrors === 0 && s.resolvedErrors === 0 && s.emails === 0 && takesPatch('quiet-cycles-cost-a-timer')) {
    const labelled = workflowInfo().memo?.summary;
    if (typeof labelled !== 'string' || !labelled.startsWith('quiet since')) labelRun({ outcome: 'nothing new', summary: quietSince(s.number) });
    return;
  }
  labelRun({
    outcome: s.failed > 0 ? 'some refused' : s.emails > 0 ? 'sent' : 'nothing new',
    summary: `cycle ${d.lastCycle}: ${s.newErrors} new, ${s.resolvedErrors} resolved, ${s.sent} emails sent`,
  });
}

/**
 * Looks for errors to remind of now, by this workflow's clock (S31); reminders it left for later
 * are tried when due (rounds of workers before #40 answer no time, and runs before the patch
 * ignored it: a fix learns it).
 */
async function lookForReminders(d: DigestState): Promise<ReminderRound> {
  const round = await sendingActivities(d.heartbeatTimeoutMs).sendReminders(d.environment, new Date(workflowNow()).toISOString());
  if (round.nextRetryAt && takesPatch('reminder-looks-when-due')) d.nextRetryAt = Math.min(d.nextRetryAt ?? Number.POSITIVE_INFINITY, Math.max(Date.parse(round.nextRetryAt), workflowNow() + 1_000));
  return round;
}

async function fixAndSend(
  environment: string,
  number: number,
  heartbeatTimeoutMs: number,
): Promise<{ summary: CycleSummary; retryAt: number | undefined; workersIntervalMs: number | undefined; heldUntil: number | undefined }> {
  const { sendDigestBatch } = sendingActivities(heartbeatTimeoutMs);
  // A cycle with nothing to send is completed by its fix: one activity (an older worker ignores
  // the option), run locally in the workflow task the cycle's timer woke.
  const fixed = takesPatch('fix-cycles-locally')
    ? await local.fixDigestCycle(environment, number, { completeWhenEmpty: true, at: new Date(workflowNow()).toISOString() })
    : takesPatch('quiet-cycles-cost-a-timer')
      ? await fixDigestCycle(environment, number, { completeWhenEmpty: true })
      : await fixDigestCycle(environment, number);
  // Channel messages (S43) are sent by the same activity as emails, beside them.
  if (fixed.deliveryCount > 0 || (fixed.channelMessageCount ?? 0) > 0) {
    for (;;) {
      const batch = await sendDigestBatch(fixed.cycleId);
      if (batch.remaining === 0) break;
    }
  }
  const completed = fixed.completed ?? (await completeDigestCycle(fixed.cycleId));
  const summary: CycleSummary = {
    number,
    newErrors: fixed.newCount,
    resolvedErrors: fixed.resolvedCount,
    emails: fixed.deliveryCount,
    sent: completed.sent,
    failed: completed.failed,
    deferred: completed.deferred,
    cancelled: completed.cancelled,
    ...((fixed.channelMessageCount ?? 0) > 0 && completed.channels && {
      channelMessages: { planned: fixed.channelMessageCount!, ...completed.channels },
    }),
    ...(completed.byTransport && Object.keys(completed.byTransport).length > 0 && { notifications: completed.byTransport }),
    ...(completed.byKind && Object.keys(completed.byKind).length > 0 && { tally: completed.byKind }),
    finishedAt: new Date(workflowNow()).toISOString(),
  };
  return {
    summary,
    retryAt: completed.nextRetryAt ? Date.parse(completed.nextRetryAt) : undefined,
    workersIntervalMs: fixed.workersIntervalMs,
    heldUntil: fixed.heldUntil ? Date.parse(fixed.heldUntil) : undefined,
  };
}
