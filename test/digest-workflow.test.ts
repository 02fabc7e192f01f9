/**
 * The digest workflow alone: its activities are stubs that record when they were called (in the
 * time-skipping server's time) and answer what each test sets, so every interleaving of run-now,
 * remind-now, stop, interval changes, deferred rounds and continue-as-new runs in seconds, with
 * no database or mail server. What a cycle does is tested through the full stack (digest.test.ts).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { heraldWorkflowBundle } from './helpers/herald.js';
import { withTimeHeld } from './helpers/digests.js';
import { heraldDataConverter } from '../client/payload-codec.js';
import { ensureSearchAttributes } from '../worker/search-attributes.js';
import { tracedWorkerOptions } from '../worker/worker.js';
import { HeraldOutcome } from '../workflows/run-labels.js';
import { startTracing } from '../observability/tracing.js';
import {
  digestNewsSignal,
  digestStatusQuery,
  environmentDigest,
  remindNowUpdate,
  runCycleNowUpdate,
  runNowSignal,
  setIntervalUpdate,
  stopDigestSignal,
  type EnvironmentDigestInput,
} from '../workflows/environment-digest.js';
import type { DigestActivities } from '../activities/digest-activities.js';

const minutes = (n: number) => n * 60_000;

/**
 * Workflow times as the stubs saw them, to the nearest 5 s: the time-skipping server skips to each
 * timer but lets real time run while activities and workflow tasks do, a few ms each.
 */
const roughly = (times: number[]) => times.map((ms) => Math.round(ms / 5_000) * 5_000);
const workersIntervalMs = minutes(15);

/** A call of a stubbed activity: which, for which cycle, and when (ms since the digest started, workflow time). */
interface Call {
  activity: string;
  cycle?: number;
  at: number;
}

/** What the stubs answer for one environment's digest, and what they were asked. */
class StubbedEnvironment {
  readonly calls: Call[] = [];
  startedAt = 0;
  /** A cycle's fix waits here while it is set: a cycle "under way". */
  hold: { released: Promise<void>; release(): void } | undefined;
  /** What the next completed cycle reports as the next deferred delivery, minutes from its end. */
  deferredInMinutes: number[] = [];
  /** What each round of deferred deliveries reports next, minutes from it. */
  nextRoundInMinutes: (number | null)[] = [];
  /** Cycles whose fix is refused as bad data. */
  refuse = new Set<number>();
  /** The HERALD_DIGEST_INTERVAL the workers report with each fix. */
  workersIntervalMs = workersIntervalMs;
  /**
   * News comes during every cycle (the digest is told of it, as writers tell it): an environment
   * whose every cycle has something to fix. Off, the digest hears only what a test tells it (#40).
   */
  newsEachCycle = true;
  /** What each fix answers as the time a rhythm holding news back falls due, minutes from it. */
  heldInMinutes: (number | undefined)[] = [];
  /** What each look for reminders answers as the time of the next (minutes from it; null: nothing open; absent: a worker before #40). */
  nextLookInMinutes: (number | null | undefined)[] = [];

  async record(activity: string, cycle?: number): Promise<void> {
    const at = (await workflowTimeOfCall()) - this.startedAt;
    this.calls.push({ activity, ...(cycle !== undefined && { cycle }), at });
  }

  holdCycles(): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.hold = { released, release };
    return () => {
      this.hold = undefined;
      release();
    };
  }

  /** The calls of one activity, in order. */
  of(activity: string): Call[] {
    return this.calls.filter((call) => call.activity === activity);
  }
}

/** While set, new digests wait here as they ask for their last cycle. */
let startHold: { released: Promise<void> } | undefined;
function startsHeld(): () => void {
  let release!: () => void;
  startHold = { released: new Promise<void>((resolve) => (release = resolve)) };
  return () => {
    startHold = undefined;
    release();
  };
}

/** The time-skipping server's clock, once it has started. */
let serverTime: () => Promise<number>;
/** Tells an environment's digest of news, as a writer does (#40). */
let tellNews: (environment: string) => Promise<void>;

/**
 * The workflow time of an activity's call: a scheduled activity's scheduled time; for a local
 * activity (scheduled by the worker, on the machine's clock) the server's time, which does not skip
 * while the workflow task that runs it is open.
 */
async function workflowTimeOfCall(): Promise<number> {
  const { info } = Context.current();
  return info.isLocal ? serverTime() : info.currentAttemptScheduledTimestampMs;
}

const environments = new Map<string, StubbedEnvironment>();
const cycles = new Map<number, { environment: StubbedEnvironment; number: number }>();
const stubbed = (environment: string) => environments.get(environment)!;
const deliveryTally = { sent: 1, failed: 0, deferred: 0, cancelled: 0 };

/** The digest activities, as stubs over {@link environments}. */
const activities: Pick<
  DigestActivities,
  'lastDigestCycle' | 'digestInterval' | 'fixDigestCycle' | 'sendDigestBatch' | 'completeDigestCycle' | 'sendDueDeliveries' | 'sendReminders'
> = {
  async lastDigestCycle(environment) {
    await stubbed(environment).record('lastDigestCycle');
    await startHold?.released;
    return 0;
  },
  async digestInterval() {
    return workersIntervalMs;
  },
  async fixDigestCycle(environment, number) {
    const env = stubbed(environment);
    await env.record('fixDigestCycle', number);
    await env.hold?.released;
    if (env.newsEachCycle) await tellNews(environment);
    if (env.refuse.has(number)) throw ApplicationFailure.create({ type: 'HeraldDataRefused', message: `cycle ${number} has bad data`, nonRetryable: true });
    const cycleId = cycles.size + 1;
    cycles.set(cycleId, { environment: env, number });
    const held = env.heldInMinutes.shift();
    return {
      cycleId,
      number,
      newCount: 1,
      resolvedCount: 0,
      deliveryCount: 1,
      workersIntervalMs: env.workersIntervalMs,
      ...(held !== undefined && { heldUntil: new Date((await workflowTimeOfCall()) + minutes(held)).toISOString() }),
    };
  },
  async sendDigestBatch(cycleId) {
    const { environment, number } = cycles.get(cycleId)!;
    await environment.record('sendDigestBatch', number);
    return { ...deliveryTally, remaining: 0 };
  },
  async completeDigestCycle(cycleId) {
    const { environment, number } = cycles.get(cycleId)!;
    await environment.record('completeDigestCycle', number);
    const deferred = environment.deferredInMinutes.shift();
    const now = Context.current().info.currentAttemptScheduledTimestampMs;
    return { ...deliveryTally, nextRetryAt: deferred === undefined ? null : new Date(now + minutes(deferred)).toISOString() };
  },
  async sendDueDeliveries(environment) {
    const env = stubbed(environment);
    await env.record('sendDueDeliveries');
    const next = env.nextRoundInMinutes.shift() ?? null;
    const now = Context.current().info.currentAttemptScheduledTimestampMs;
    return { ...deliveryTally, nextRetryAt: next === null ? null : new Date(now + minutes(next)).toISOString() };
  },
  async sendReminders(environment) {
    const env = stubbed(environment);
    await env.record('sendReminders');
    const next = env.nextLookInMinutes.shift();
    const now = Context.current().info.currentAttemptScheduledTimestampMs;
    return {
      ...deliveryTally,
      planned: 1,
      nextRetryAt: null,
      ...(next !== undefined && { nextLookAt: next === null ? null : new Date(now + minutes(next)).toISOString() }),
    };
  },
};

describe('the digest workflow, on stubbed activities', async () => {
  const env = await createTimeSkippingEnvironment();
  serverTime = () => env.currentTimeMs();
  tellNews = (environment) => env.client.workflow.getHandle(`digest/${environment}`).signal(digestNewsSignal);
  const taskQueue = `digest-steps-${randomBytes(4).toString('hex')}`;
  await ensureSearchAttributes(env.connection, 'default');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    dataConverter: heraldDataConverter,
    workflowBundle: await heraldWorkflowBundle(),
    activities,
    ...(await tracedWorkerOptions(await startTracing('herald-worker'), { bundled: true })),
  });
  const running = worker.run();
  afterAll(async () => {
    worker.shutdown();
    await running;
  });

  // A test that failed before stopping its digest leaves it running: its cycles would crowd the
  // time the next tests skip through.
  const started: WorkflowHandle[] = [];
  afterEach(async () => {
    for (const handle of started.splice(0)) await handle.terminate('test ended').catch(() => undefined);
  });

  /** Starts a digest of a new environment; its first cycle is `interval` after the start. */
  async function startDigest(input: Partial<EnvironmentDigestInput> = {}) {
    const environment = `env-${randomBytes(3).toString('hex')}`;
    const stubs = new StubbedEnvironment();
    environments.set(environment, stubs);
    const handle = await env.client.workflow.start(environmentDigest, {
      taskQueue,
      workflowId: `digest/${environment}`,
      args: [{ environment, intervalMs: workersIntervalMs, ...input }],
      // A request to a digest whose cycle is held in a local activity is taken by the task that
      // the worker starts when it heartbeats the held one, at 80% of this timeout (default 10 s).
      workflowTaskTimeout: '2s',
    });
    started.push(handle);
    stubs.startedAt = (await handle.describe()).startTime.getTime();
    return { handle, stubs, environment };
  }

  /** A new digest whose first cycle is under way: its fix waits until `release()`. */
  async function digestInFirstCycle(input: Partial<EnvironmentDigestInput> = {}) {
    const started = await startDigest(input);
    const release = started.stubs.holdCycles();
    await pass(minutes(15));
    await until(() => started.stubs.of('fixDigestCycle').length === 1);
    return { ...started, release };
  }

  /** Stops a digest and waits for its end. */
  async function stopped(handle: WorkflowHandle): Promise<void> {
    await handle.signal(stopDigestSignal);
    await handle.result();
  }

  /** Lets workflow time pass (the test server skips it). */
  const pass = (ms: number) => env.sleep(ms);
  /** Waits, in real time, until the stubs saw a call (a workflow task or activity still to run). */
  async function until(check: () => boolean | Promise<boolean>): Promise<void> {
    while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it('runs a cycle each interval, from the end of the last one', async () => {
    const { handle, stubs } = await startDigest();
    await pass(minutes(46));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2, 3]);
    expect(roughly(stubs.of('fixDigestCycle').map((c) => c.at))).toEqual([minutes(15), minutes(30), minutes(45)]);
    // Each cycle fixes, sends and completes, in that order, and reminders are looked for after the first.
    expect(stubs.calls.slice(0, 5).map((c) => c.activity)).toEqual(['lastDigestCycle', 'fixDigestCycle', 'sendDigestBatch', 'completeDigestCycle', 'sendReminders']);
    await stopped(handle);
  });

  it('run-now while waiting: a cycle at once, answered with its summary; the next one an interval after it', async () => {
    const { handle, stubs } = await startDigest();
    await pass(minutes(5));
    const summary = await handle.executeUpdate(runCycleNowUpdate);
    expect(summary).toMatchObject({ number: 1, emails: 1, sent: 1 });
    await pass(minutes(21));
    const fixes = stubs.of('fixDigestCycle');
    expect(fixes.map((c) => c.cycle)).toEqual([1, 2]);
    expect(roughly([fixes[1]!.at - fixes[0]!.at])).toEqual([minutes(15)]);
    await stopped(handle);
  });

  it('run-now whose workflow task is still in progress when the timer of the next cycle fires: answered, and the cycles go on', async () => {
    // The request's task runs the cycle's fix locally; held, the task is still in progress when
    // the timer fires (time held: it passes as real time does). A request that cancelled the timer
    // would cancel one already fired, which the time-skipping server refuses: the run would never
    // get another task.
    const { handle, stubs } = await withTimeHeld(env, async () => {
      const digest = await startDigest({ intervalMs: 3_000 });
      await until(() => digest.stubs.of('lastDigestCycle').length === 1);
      const release = digest.stubs.holdCycles();
      const answer = digest.handle.executeUpdate(runCycleNowUpdate);
      await until(() => digest.stubs.of('fixDigestCycle').length === 1);
      await until(async () => (await serverTime()) > digest.stubs.startedAt + 4_000);
      release();
      expect(await answer).toMatchObject({ number: 1 });
      return digest;
    });
    await pass(minutes(16));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2]);
    await stopped(handle);
  });

  it('run-now while a cycle runs: answered by the next cycle, which starts as soon as that one ends', async () => {
    const { handle, stubs, release } = await digestInFirstCycle();
    const answer = await handle.startUpdate(runCycleNowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    release();
    expect(await answer.result()).toMatchObject({ number: 2 });
    const fixes = stubs.of('fixDigestCycle');
    expect(fixes.map((c) => c.cycle)).toEqual([1, 2]);
    expect(fixes[1]!.at - fixes[0]!.at).toBeLessThan(minutes(15));
    await stopped(handle);
  });

  it('two run-now signals before a cycle starts: one cycle', async () => {
    // Both arrive while the new digest still asks for its last cycle, so it sees them together.
    const release = startsHeld();
    const { handle, stubs } = await startDigest();
    await until(() => stubs.of('lastDigestCycle').length === 1);
    await handle.signal(runNowSignal);
    await handle.signal(runNowSignal);
    release();
    await pass(minutes(1));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1]);
    await stopped(handle);
  });

  it('remind-now while waiting: one look answers every request made before it, and no cycle runs', async () => {
    const { handle, stubs } = await startDigest();
    await pass(minutes(5));
    const answers = await Promise.all([handle.executeUpdate(remindNowUpdate), handle.executeUpdate(remindNowUpdate)]);
    expect(answers).toEqual([expect.objectContaining({ planned: 1 }), expect.objectContaining({ planned: 1 })]);
    expect(stubs.of('sendReminders').length).toBeGreaterThanOrEqual(1);
    expect(stubs.of('sendReminders').length).toBeLessThanOrEqual(2);
    expect(stubs.of('fixDigestCycle')).toEqual([]);
    await stopped(handle);
  });

  it('remind-now and run-now together while a cycle runs: the cycle first, then the look', async () => {
    const { handle, stubs, release } = await digestInFirstCycle();
    const cycle = await handle.startUpdate(runCycleNowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    const look = await handle.startUpdate(remindNowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    release();
    await Promise.all([cycle.result(), look.result()]);
    const order = stubs.calls.filter((c) => c.activity === 'fixDigestCycle' || c.activity === 'sendReminders').map((c) => `${c.activity}${c.cycle ?? ''}`);
    // Cycle 1's own hourly look follows it; the run-now cycle (2) runs before the asked-for look.
    expect(order.slice(0, 3)).toEqual(['fixDigestCycle1', 'sendReminders', 'fixDigestCycle2']);
    expect(order.at(-1)).toBe('sendReminders');
    await stopped(handle);
  });

  it('stop while waiting: the digest ends without a cycle', async () => {
    const { handle, stubs } = await startDigest();
    await pass(minutes(5));
    await stopped(handle);
    expect(stubs.of('fixDigestCycle')).toEqual([]);
  });

  it('stop while a cycle runs, with a run-now and a remind-now waiting: the cycle ends, the look is answered, the run-now is refused', async () => {
    const { handle, stubs, release } = await digestInFirstCycle();
    const cycle = await handle.startUpdate(runCycleNowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    const look = await handle.startUpdate(remindNowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    await handle.signal(stopDigestSignal);
    release();
    await handle.result();
    expect(await look.result()).toMatchObject({ planned: 1 });
    const refused = await cycle.result().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'DigestStopped' });
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1]);
  });

  it('an operator\'s interval: the next cycle comes that long after the last; it outlives the workers\' setting until handed back', async () => {
    const { handle, stubs } = await startDigest();
    await pass(minutes(16));
    const status = await handle.executeUpdate(setIntervalUpdate, { args: [minutes(60)] });
    expect(status).toMatchObject({ intervalMs: minutes(60), intervalFrom: 'operator' });
    stubs.workersIntervalMs = minutes(5);
    await pass(minutes(60));
    expect(roughly(stubs.of('fixDigestCycle').map((c) => c.at))).toEqual([minutes(15), minutes(75)]);
    // Handed back: from its next cycle, the digest follows the interval the workers report.
    expect(await handle.executeUpdate(setIntervalUpdate, { args: [null] })).toMatchObject({ intervalFrom: 'workers' });
    await pass(minutes(65));
    const fixes = stubs.of('fixDigestCycle').map((c) => c.at);
    expect(roughly(fixes.slice(0, 4))).toEqual([minutes(15), minutes(75), minutes(135), minutes(140)]);
    await stopped(handle);
  });

  it('refuses an interval out of bounds, naming it, and keeps its own', async () => {
    const { handle } = await startDigest();
    const refused = await handle.executeUpdate(setIntervalUpdate, { args: [500] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refused as WorkflowUpdateFailedError).cause?.message)).toMatch(/interval/);
    expect(await handle.query(digestStatusQuery)).toMatchObject({ intervalMs: workersIntervalMs, intervalFrom: 'workers' });
    await stopped(handle);
  });

  it('deferred deliveries: sent when due, between cycles, until none is left', async () => {
    const { handle, stubs } = await startDigest();
    stubs.deferredInMinutes = [2];
    stubs.nextRoundInMinutes = [3, null];
    await pass(minutes(29));
    const rounds = stubs.of('sendDueDeliveries').map((c) => c.at);
    // Cycle 1 at 15 min defers a recipient to 17; that round finds another due at 20; then none.
    expect(roughly(rounds)).toEqual([minutes(17), minutes(20)]);
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1]);
    await stopped(handle);
  });

  it('a round that reports a delivery already due does not spin: the next round is a second later at the earliest', async () => {
    const { handle, stubs } = await startDigest();
    stubs.deferredInMinutes = [1];
    stubs.nextRoundInMinutes = [-5, null];
    await pass(minutes(17));
    const rounds = stubs.of('sendDueDeliveries').map((c) => c.at);
    expect(rounds).toHaveLength(2);
    expect(roughly([rounds[0]!])).toEqual([minutes(16)]);
    expect(rounds[1]! - rounds[0]!).toBeGreaterThanOrEqual(1_000);
    expect(rounds[1]! - rounds[0]!).toBeLessThan(5_000);
    await stopped(handle);
  });

  it('a refused cycle is recorded in the status, and the next cycle runs at its time', async () => {
    const { handle, stubs } = await startDigest();
    stubs.refuse.add(1);
    await pass(minutes(16));
    expect(await handle.query(digestStatusQuery)).toMatchObject({ lastRefusal: 'cycle 1: cycle 1 has bad data', lastCycle: 0 });
    stubs.refuse.delete(1);
    await pass(minutes(15));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 1]);
    expect(roughly(stubs.of('fixDigestCycle').map((c) => c.at))).toEqual([minutes(15), minutes(30)]);
    expect((await handle.query(digestStatusQuery)).lastRefusal).toBeUndefined();
    await stopped(handle);
  });

  it('continues as new after its cycles per run, carrying its cycle, its operator\'s interval, its deferred deliveries and its labels', async () => {
    const { handle, stubs } = await startDigest({ cyclesPerRun: 2 });
    const firstRun = (await handle.describe()).runId;
    await handle.executeUpdate(setIntervalUpdate, { args: [minutes(10)] });
    stubs.deferredInMinutes = [0, 3];
    stubs.nextRoundInMinutes = [null];
    await pass(minutes(25));
    const now = await handle.describe();
    expect(now.runId).not.toBe(firstRun);
    expect(await handle.query(digestStatusQuery)).toMatchObject({ lastCycle: 2, intervalMs: minutes(10), intervalFrom: 'operator' });
    // The new run starts with the labels the last cycle left (an operator filtering by outcome still finds it).
    expect((await now.memo)?.summary).toBe('cycle 2: 1 new, 0 resolved, 1 emails sent');
    expect(now.typedSearchAttributes.get(HeraldOutcome)).toBe('sent');
    // The new run does not ask the database for its last cycle, and sends the delivery cycle 2 deferred.
    expect(stubs.of('lastDigestCycle')).toHaveLength(1);
    await pass(minutes(4));
    expect(roughly([stubs.of('sendDueDeliveries').at(-1)!.at])).toEqual([minutes(23)]);
    await pass(minutes(8));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2, 3]);
    await stopped(handle);
  });

  it('a run counts its cycles, not its wakes: interval changes between cycles do not make it continue as new sooner', async () => {
    const { handle, stubs } = await startDigest({ cyclesPerRun: 2 });
    const firstRun = (await handle.describe()).runId;
    await pass(minutes(16));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1]);
    // Two wakes that run no cycle: an operator changes the interval, and changes it back.
    await handle.executeUpdate(setIntervalUpdate, { args: [minutes(20)] });
    await handle.executeUpdate(setIntervalUpdate, { args: [minutes(15)] });
    expect((await handle.describe()).runId).toBe(firstRun);
    await pass(minutes(15));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2]);
    // Its second cycle is its last: the next turn begins a new run.
    await expect.poll(async () => (await handle.describe()).runId).not.toBe(firstRun);
    await stopped(handle);
  });

  it('a run-now during the last cycle of a run is answered before the run continues as new', async () => {
    const { handle, release } = await digestInFirstCycle({ cyclesPerRun: 1 });
    const answer = await handle.startUpdate(runCycleNowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    release();
    expect(await answer.result()).toMatchObject({ number: 2 });
    await stopped(handle);
  });

  it('#40: a cycle with no news told runs no activity, its timer alone; told news, the next cycle fixes it; and it looks every 4 hours', async () => {
    const { handle, stubs, environment } = await startDigest();
    stubs.newsEachCycle = false;
    // A new digest looks at its first cycle: nobody has told it what was stored before it started.
    await pass(minutes(16));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1]);
    const quietFrom = stubs.calls.length;
    await pass(minutes(60));
    // Four quiet cycles: no fix; only the hourly look for reminders, which keeps its own time.
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1]);
    expect(stubs.calls.slice(quietFrom).map((c) => c.activity)).toEqual(['sendReminders']);
    await tellNews(environment);
    await pass(minutes(15));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2]);
    expect(roughly([stubs.of('fixDigestCycle')[1]!.at])).toEqual([minutes(90)]);
    // Quiet from then on: the next fix is the look 4 hours after the last one.
    await pass(minutes(4 * 60));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2, 3]);
    expect(roughly([stubs.of('fixDigestCycle')[2]!.at])).toEqual([minutes(90 + 4 * 60)]);
    expect(await handle.query(digestStatusQuery)).toMatchObject({ lastCycle: 3 });
    await stopped(handle);
  });

  it('#40: news told while a cycle runs is fixed by the next cycle; a run-now fixes whatever it was told', async () => {
    const { handle, stubs, environment, release } = await digestInFirstCycle();
    stubs.newsEachCycle = false;
    await tellNews(environment);
    release();
    await pass(minutes(16));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2]);
    await pass(minutes(30));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2]);
    expect(await handle.executeUpdate(runCycleNowUpdate)).toMatchObject({ number: 3 });
    await stopped(handle);
  });

  it('#40: a rhythm holding news back wakes a quiet digest\'s fix when it falls due, and a run carries it and its untaken news across continue-as-new', async () => {
    const { handle, stubs, environment } = await startDigest({ cyclesPerRun: 2 });
    stubs.newsEachCycle = false;
    // The first fix says a person's daily digest, which holds news, falls due in 40 minutes.
    stubs.heldInMinutes = [40];
    await pass(minutes(16));
    const firstRun = (await handle.describe()).runId;
    await pass(minutes(45));
    // Cycles at 30 and 45 minutes sleep; the one at 60, past the rhythm's time, fixes.
    expect(roughly(stubs.of('fixDigestCycle').map((c) => c.at))).toEqual([minutes(15), minutes(60)]);
    // News told just before the run continues as new (its 2 cycles counted with the quiet ones) is fixed by the new run.
    await tellNews(environment);
    await expect.poll(async () => (await handle.describe()).runId).not.toBe(firstRun);
    await pass(minutes(15));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2, 3]);
    await stopped(handle);
  });

  it('#40: reminders are looked for when the last look said someone may be due, not hourly; with nothing open, an hour after news', async () => {
    const { handle, stubs, environment } = await startDigest();
    stubs.newsEachCycle = false;
    // The first look (after the first cycle) says the next may find someone in an hour; that one, that nothing is open.
    stubs.nextLookInMinutes = [60, null];
    await pass(minutes(16));
    await pass(minutes(120));
    // Nothing open since 75 minutes: no look at 135, where there was one each hour.
    expect(roughly(stubs.of('sendReminders').map((c) => c.at)), JSON.stringify(stubs.calls)).toEqual([minutes(15), minutes(75)]);
    // News: its cycle brings a look an hour later.
    await tellNews(environment);
    await pass(minutes(16));
    expect(roughly([stubs.of('fixDigestCycle').at(-1)!.at])).toEqual([minutes(150)]);
    await pass(minutes(60));
    expect(roughly(stubs.of('sendReminders').map((c) => c.at))).toEqual([minutes(15), minutes(75), minutes(210)]);
    await stopped(handle);
  });

  it('a run with a long interval still continues as new within a day', async () => {
    const { handle, stubs } = await startDigest({ intervalMs: minutes(6 * 60) });
    stubs.workersIntervalMs = minutes(6 * 60);
    const firstRun = (await handle.describe()).runId;
    await pass(minutes(25 * 60));
    expect(stubs.of('fixDigestCycle').map((c) => c.cycle)).toEqual([1, 2, 3, 4]);
    expect((await handle.describe()).runId).not.toBe(firstRun);
    expect(await handle.query(digestStatusQuery)).toMatchObject({ lastCycle: 4, intervalMs: minutes(6 * 60) });
    await stopped(handle);
  });
});
