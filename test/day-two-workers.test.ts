import { describe, expect, it } from 'vitest';
import { startWorld } from './helpers/fixture.js';
import type { ChildProcess } from 'node:child_process';
import { createDevServer } from './helpers/temporal.js';
import { workerProcesses } from './helpers/worker-processes.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { digestStatusQuery, setIntervalUpdate } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { updateUntilTaken } from '../client/updates.js';
import { HeraldClient } from '../client/herald-client.js';

// Day two, in real time on a real Temporal server (the dev server): production workers
// (worker/main.ts, as `npm run worker` runs it built) start, stop and restart while digests that
// have lived a while, and continued as new, run on. The time-skipping server keeps a stopped
// worker's sticky queue for ever, so a restart cannot be tested there.
describe('S44: day two, worker processes that start, stop and restart', async () => {
  const temporal = await createDevServer();
  const { db, url: databaseUrl, mail } = await startWorld();
  const taskQueue = 'herald-day-two';
  const settings = { temporalAddress: temporal.address, databaseUrl, smtpUrl: mail.url, taskQueue };
  const digestOf = (environment: string) => temporal.client.workflow.getHandle(environmentDigestWorkflowId(environment));
  /** An operator's `herald digest interval`, sent as the command sends it. */
  const setInterval = (environment: string, ms: number | null) => updateUntilTaken(() => digestOf(environment).executeUpdate(setIntervalUpdate, { args: [ms] }));
  const lastCycleOf = async (environment: string) => (await digestOf(environment).query(digestStatusQuery)).lastCycle;
  /** The time of the digest's next cycle: each cycle moves it on, whether it fixed news or, with none, slept through (#40). */
  const nextCycleOf = async (environment: string) => Date.parse((await digestOf(environment).query(digestStatusQuery)).nextCycleAt);
  const herald = new HeraldClient({ temporal: temporal.client, taskQueue });
  /** Stops a worker as an orchestrator does (SIGTERM) and waits for it to exit. */
  const stop = async (worker: ChildProcess) => {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  };

  it('S44: a worker restarted after its digests continued as new starts, and the digests run on', async () => {
    // prod: every 2 s, continuing as new after each cycle. The worker starts staging's, which prod has.
    const started = await startDigest(temporal.client, taskQueue, { environment: 'prod', intervalMs: 2_000, cyclesPerRun: 1 });
    const workers = workerProcesses({ ...settings, variables: { HERALD_DIGEST_INTERVAL: '2s' } });
    const first = await workers.start();
    await expect.poll(() => nextCycleOf('prod'), { timeout: 30_000 }).toBeGreaterThan(0);
    const startedAt = await nextCycleOf('prod');
    await expect.poll(() => nextCycleOf('prod'), { timeout: 30_000 }).toBeGreaterThanOrEqual(startedAt + 3 * 2_000);
    expect((await digestOf('prod').describe()).runId).not.toBe(started.firstExecutionRunId);
    const before = await lastCycleOf('prod');
    await stop(first);

    // News reported while no worker runs: the restarted worker's digest fixes it, and its cycles go on.
    const second = await workers.start();
    await herald.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'DAY-2', message: 'Told after a restart' }] });
    await expect.poll(() => lastCycleOf('prod'), { timeout: 30_000 }).toBeGreaterThan(before);
    const after = await nextCycleOf('prod');
    await expect.poll(() => nextCycleOf('prod'), { timeout: 30_000 }).toBeGreaterThan(after + 2_000);
    expect(await lastCycleOf('staging')).toBeGreaterThanOrEqual(1);
    expect(second.exitCode).toBeNull();
    await stop(second);
  });

  it('S44: two workers starting at once both start and share the digests, one per environment', async () => {
    const workers = workerProcesses({ ...settings, variables: { HERALD_DIGEST_INTERVAL: '2s' } });
    const pair = await Promise.all([workers.start(), workers.start()]);
    const before = await nextCycleOf('prod');
    await expect.poll(() => nextCycleOf('prod'), { timeout: 30_000 }).toBeGreaterThan(before + 2 * 2_000);
    for (const id of ['prod', 'staging']) expect((await digestOf(id).describe()).status.name).toBe('RUNNING');
    expect(pair.every((worker) => worker.exitCode === null)).toBe(true);
    await Promise.all(pair.map(stop));
  });

  it("S44: a deploy with a new HERALD_DIGEST_INTERVAL keeps the interval an operator chose, and moves the others' at their next cycle with news", async () => {
    const before = await workerProcesses({ ...settings, variables: { HERALD_DIGEST_INTERVAL: '2s' } }).start();
    // An operator slows prod down (herald digest interval --env prod 1h).
    expect(await setInterval('prod', 3_600_000)).toMatchObject({ intervalMs: 3_600_000, intervalFrom: 'operator' });
    await stop(before);

    // The deploy: every 1 s now.
    const after = await workerProcesses({ ...settings, variables: { HERALD_DIGEST_INTERVAL: '1s' } }).start();
    // A digest learns the workers' interval from a fix: staging's next, which its news brings (a quiet one looks every 4 hours, #40).
    await herald.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'DEPLOY-1', message: 'Told after a deploy' }] });
    await expect.poll(async () => (await digestOf('staging').query(digestStatusQuery)).intervalMs, { timeout: 30_000 }).toBe(1_000);
    expect(await digestOf('prod').query(digestStatusQuery)).toMatchObject({ intervalMs: 3_600_000, intervalFrom: 'operator' });
    // A cycle run now does not undo the choice either (prod continues as new after each cycle).
    await runCycleNow(temporal.client, 'prod');
    expect(await digestOf('prod').query(digestStatusQuery)).toMatchObject({ intervalMs: 3_600_000, intervalFrom: 'operator' });
    // Handed back to the workers (herald digest interval --env prod default), it follows theirs from its next cycle.
    await setInterval('prod', null);
    await runCycleNow(temporal.client, 'prod');
    expect(await digestOf('prod').query(digestStatusQuery)).toMatchObject({ intervalMs: 1_000, intervalFrom: 'workers' });
    await stop(after);
  });

  it('S44: a worker start touches only environments whose digest was never made sure of: one ended by hand stays ended', async () => {
    // The starts above made sure of every environment.
    expect(await db('environments').whereNull('digest_ensured_at').pluck('id')).toEqual([]);
    await digestOf('staging').terminate('ended by hand');
    const first = await workerProcesses({ ...settings, variables: { HERALD_DIGEST_INTERVAL: '2s' } }).start();
    expect((await digestOf('staging').describe()).status.name).toBe('TERMINATED');
    await stop(first);
    // An environment whose digest start was missed (Temporal down when it was created): the next worker start begins it.
    await db('environments').where({ id: 'staging' }).update({ digest_ensured_at: null });
    const second = await workerProcesses({ ...settings, variables: { HERALD_DIGEST_INTERVAL: '2s' } }).start();
    expect((await digestOf('staging').describe()).status.name).toBe('RUNNING');
    expect(await db('environments').whereNull('digest_ensured_at').pluck('id')).toEqual([]);
    await stop(second);
  });
});
