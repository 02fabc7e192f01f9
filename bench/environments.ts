/**
 * `npm run bench -- environments --count N [--minutes 5] [--workers 1] [--cache N] [--json FILE] [--temporal host:port]`:
 * N environments (2 users, 1 flow each), each with its digest every 60 s (N = 2,000 at 60 s is the
 * cycle rate of 30,000 environments at 15 min), for some minutes; every minute a tenth of them,
 * chosen at random, get an error. Herald's workers run as `npm run worker` runs them, each in a
 * process of its own (`--workers`; `--cache` sets their HERALD_CACHED_WORKFLOWS). Anchor, in the same run on the same server: N bare workflows that sleep 60 s in a
 * loop (the platform's own cost of N timers), on as many bare SDK worker processes as Herald's. Prints figures; asserts nothing.
 */
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { processStats, type ProcessStats } from './process-stats.js';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyCatalog, type Catalog } from '../catalog/catalog.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { HeraldClient } from '../client/herald-client.js';
import { workflowBundleOptions } from '../worker/worker.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { billableActions, total } from '../test/helpers/billable-actions.js';
import { workerRunning } from '../test/helpers/run-processes.js';
import { startBenchStack } from './stack.js';
import { lagsQuery, timerLoop } from './floor-workflow.js';

const periodMs = 60_000;
const inBatches = async <T>(items: T[], size: number, work: (item: T) => Promise<unknown>) => {
  for (let at = 0; at < items.length; at += size) await Promise.all(items.slice(at, at + size).map(work));
};
const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);
const lagFigures = (lagsMs: number[]) => {
  const sorted = [...lagsMs].sort((a, b) => a - b);
  return { count: sorted.length, p50: quantile(sorted, 0.5) / 1000, p99: quantile(sorted, 0.99) / 1000, max: (sorted.at(-1) ?? NaN) / 1000 };
};
const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
const seconds = (figures: { p50: number; p99: number; max: number }) => `p50 ${figures.p50.toFixed(2)} s, p99 ${figures.p99.toFixed(2)} s, max ${figures.max.toFixed(2)} s`;

export async function benchEnvironments(options: { count: number; minutes: number; workers: number; cache?: number; temporal?: string; json?: string }): Promise<void> {
  const { count, minutes } = options;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const stack = await startBenchStack({ temporal: options.temporal, poolSize: 10 });
  const { db } = stack;
  const client = createTemporalClient(stack.connection);
  // Names of this run's own: a cluster outlives a run, and may hold an earlier run's workflows.
  const runName = randomBytes(3).toString('hex');
  const taskQueue = `bench-environments-${runName}`;
  const ids = Array.from({ length: count }, (_, i) => `env-${runName}-${String(i).padStart(5, '0')}`);
  const catalog: Catalog = {
    accounts: [{ id: 'many', name: 'Many environments' }],
    users: ids.flatMap((id) => ['a', 'b'].map((who) => ({ account: 'many', email: `${who}.${id}@bench.test`, role: 'monitor' as const }))),
    environments: ids.map((id) => ({ id, account: 'many', name: id, production: true })),
    integrations: ids.map((id) => ({ id: `int-${id}`, environment: id, name: 'Shop' })),
    flows: ids.map((id) => ({ id: `flow-${id}`, integration: `int-${id}`, name: 'Orders', autoResolve: false })),
    subscriptions: ids.flatMap((id) => ['a', 'b'].map((who) => ({ environment: id, user: `${who}.${id}@bench.test`, flows: [`flow-${id}`] }))),
  };
  await applyCatalog(db, catalog);
  console.log(`environments: ${count} environments (2 users, 1 flow each), digest every 60 s, for ${minutes} min; ${options.workers} worker process(es), workflow cache ${options.cache ?? 'the SDK default'}`);

  // Herald's production workers, each in a process of its own, from a prebuilt bundle.
  const folder = mkdtempSync(join(tmpdir(), 'herald-bench-environments-'));
  const bundleFile = join(folder, 'workflow-bundle.js');
  writeFileSync(bundleFile, (await bundleWorkflowCode({ ...workflowBundleOptions({ traced: false }), logger: new DefaultLogger('ERROR') })).code);
  const startWorker = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../worker/main.ts', import.meta.url))], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: stack.temporalAddress,
        DATABASE_URL: stack.databaseUrl,
        SMTP_URL: stack.smtpUrl,
        HERALD_TASK_QUEUE: taskQueue,
        HERALD_WORKFLOW_BUNDLE: bundleFile,
        HERALD_SECRET: 'the-bench-secret-of-at-least-32-characters',
        HERALD_FROM: 'Herald <bench@herald.test>',
        HERALD_DIGEST_INTERVAL: '60s',
        HERALD_LOG_LEVEL: 'info',
        ...(options.cache !== undefined && { HERALD_CACHED_WORKFLOWS: String(options.cache) }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.on('exit', () => child.kill('SIGKILL'));
    await workerRunning(child);
    return child;
  };
  /** Starts the workers side by side: the time until the last one runs. */
  const startWorkers = async (): Promise<{ children: ChildProcess[]; seconds: number }> => {
    const started = performance.now();
    const children = await Promise.all(Array.from({ length: options.workers }, startWorker));
    return { children, seconds: (performance.now() - started) / 1000 };
  };
  const stopWorker = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });

  // The first start begins every digest; a restart finds them all made sure of.
  const first = await startWorkers();
  console.log(`worker start with ${count} new environments (starts their digests): ${first.seconds.toFixed(2)} s`);
  await Promise.all(first.children.map(stopWorker));
  const restart = await startWorkers();
  console.log(`worker start with ${count} environments whose digests run: ${restart.seconds.toFixed(2)} s`);
  const workers = restart.children;

  // The anchor: N bare timer loops on bare SDK workers of their own, as many processes as Herald's
  // workers (each with a process's own fixed cost), each allowed to cache them all; their memory is
  // measured beside Herald's workers'.
  const anchorWorkers = Array.from({ length: options.workers }, () =>
    spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./anchor-worker.ts', import.meta.url))], {
      env: { ...process.env, TEMPORAL_ADDRESS: stack.temporalAddress, ANCHOR_TASK_QUEUE: `bench-timers-${runName}`, ANCHOR_CACHE: String(count) },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  process.on('exit', () => anchorWorkers.forEach((anchor) => anchor.kill('SIGKILL')));
  await Promise.all(anchorWorkers.map(workerRunning));
  await inBatches(ids, 16, (id) => client.workflow.start(timerLoop, { workflowId: `timers/${id}`, taskQueue: `bench-timers-${runName}`, args: [periodMs] }));

  // Measured an interval after every digest has run its first cycle (and with it a run's one-off
  // first reminder look, label and first quiet cycle), or six intervals after the restart on a server too far behind for that.
  const warmUpEnds = Date.now() + 5 * periodMs;
  const digestsThatCycled = async () => Number((await db('digest_cycles').countDistinct({ n: 'environment_id' }))[0]!.n);
  while ((await digestsThatCycled()) < count && Date.now() < warmUpEnds) await new Promise((resolve) => setTimeout(resolve, 1_000));
  const notCycled = count - (await digestsThatCycled());
  if (notCycled > 0) console.log(`measuring with ${notCycled} of ${count} digests still without a first cycle five intervals after the restart`);
  // And one interval more: a run's first quiet cycle records its patch marker once (#40), a one-off like its first look.
  await new Promise((resolve) => setTimeout(resolve, periodMs));

  // Billable actions so far of a sample of digests and of an anchor: the run, its total, its cycles (and those with news).
  const sampleSize = Math.min(count, 40);
  const snapshotActions = async () => {
    const counts = new Map<string, { runId: string; total: number; byKind: Record<string, number>; cycles: number; newsCycles: number }>();
    // A digest's cycles are its wakes (its timers: a quiet one runs nothing else, #40); those with news, its cycles that sent.
    const countOf = async (workflowId: string, newsSoFar: () => Promise<number>) => {
      const { runId } = await client.workflow.getHandle(workflowId).describe();
      const newsCycles = await newsSoFar();
      const actions = await billableActions(client, workflowId, runId);
      counts.set(workflowId.replace(/^digest\//, ''), { runId, total: total(actions), byKind: actions, cycles: actions.timer ?? 0, newsCycles });
    };
    await inBatches(ids.slice(0, sampleSize), 8, (id) =>
      countOf(environmentDigestWorkflowId(id), async () => {
        const row = await db('digest_cycles').where({ environment_id: id }).first(db.raw('(count(*) filter (where delivery_count > 0))::int as news'));
        return row.news;
      }),
    );
    await countOf(`timers/${ids[0]}`, async () => 0);
    return counts;
  };
  const actionsAtStart = await snapshotActions();

  // Measuring: errors every minute for a tenth; CPU, memory and database connections every 5 s.
  const herald = new HeraldClient({ temporal: client, taskQueue });
  const measuredFrom = new Date();
  // A worker that exits during the measurement keeps its last figures (CPU so far; RSS 0), and is named at the end.
  const lastStats = new Map<number, ProcessStats>();
  const exited = new Set<number>();
  const statsOf = (pid: number): ProcessStats => {
    const stats = processStats(pid);
    if (stats) lastStats.set(pid, stats);
    else exited.add(pid);
    return stats ?? { cpuSeconds: lastStats.get(pid)?.cpuSeconds ?? 0, rssMiB: 0 };
  };
  /** The workers' figures summed, each process read once. */
  const workersNow = () => {
    const all = workers.map((worker) => statsOf(worker.pid!));
    return { cpuSeconds: all.reduce((total, s) => total + s.cpuSeconds, 0), rssMiB: all.reduce((total, s) => total + s.rssMiB, 0) };
  };
  const samples: { cpuPercent: number; rssMiB: number; anchorRssMiB: number; activeConnections: number; connections: number }[] = [];
  let lastCpu = workersNow().cpuSeconds;
  let lastAt = performance.now();
  const sampler = setInterval(() => {
    void (async () => {
      const { cpuSeconds: cpu, rssMiB } = workersNow();
      const now = performance.now();
      const pg = (await db.raw(`select count(*) filter (where state = 'active') as active, count(*) as total from pg_stat_activity where backend_type = 'client backend'`)).rows[0];
      const anchorRssMiB = anchorWorkers.reduce((total, anchor) => total + (processStats(anchor.pid!)?.rssMiB ?? NaN), 0);
      samples.push({ cpuPercent: ((cpu - lastCpu) / ((now - lastAt) / 1000)) * 100, rssMiB, anchorRssMiB, activeConnections: Number(pg.active), connections: Number(pg.total) });
      lastCpu = cpu;
      lastAt = now;
    })();
  }, 5_000);
  /** How long the anchors' lags are asked for once the measurement ends. */
  const analysisMs = 120_000;
  const reportTimes: number[] = [];
  let reportsLeftOut = 0;
  for (let minute = 0; minute < minutes; minute += 1) {
    const chosen = ids.filter(() => Math.random() < 0.1);
    const minuteEnds = measuredFrom.getTime() + (minute + 1) * periodMs;
    await inBatches(chosen, 16, async (id) => {
      // Bounded: on a server too far behind, a minute's reports not made within it are left out (and counted).
      if (Date.now() > minuteEnds) {
        reportsLeftOut += 1;
        return;
      }
      const started = performance.now();
      await herald.reportErrors({ environment: id, flow: `flow-${id}`, reportId: `minute-${minute}`, errors: [{ traceKey: `rec-${minute}`, message: 'Rejected by the target' }] });
      reportTimes.push(performance.now() - started);
    });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, measuredFrom.getTime() + (minute + 1) * periodMs - Date.now())));
  }
  clearInterval(sampler);

  // Herald's lag: each wake of the sampled digests (its timer firing, whether the cycle then fixed
  // news or, quiet, slept again: #40) against the time it was set for; skipped: due times with no
  // wake (a gap over 1.9 intervals between two, or between the last and the end).
  const measuredTo = new Date();
  const heraldLags: number[] = [];
  let skipped = 0;
  const missed = (gapMs: number) => (gapMs > 1.9 * periodMs ? Math.round(gapMs / periodMs) - 1 : 0);
  await inBatches(ids.slice(0, sampleSize), 8, async (id) => {
    const wakes = await wakesOf(client, environmentDigestWorkflowId(id), measuredFrom, measuredTo);
    heraldLags.push(...wakes.map((wake) => wake.lagMs));
    const times = [measuredFrom.getTime(), ...wakes.map((wake) => wake.at), measuredTo.getTime()];
    for (let i = 1; i < times.length; i += 1) skipped += missed(times[i]! - times[i - 1]!);
  });
  const reportSeconds = lagFigures(reportTimes);
  const anchorLags: number[] = [];
  let anchorsUnanswered = 0;
  // Bounded: a server far behind answers thousands of queries slowly; those not asked in time count as unanswered.
  const anchorsAskedUntil = Date.now() + analysisMs;
  await inBatches(ids, 16, async (id) => {
    const lags = Date.now() < anchorsAskedUntil ? await patientQuery(() => client.workflow.getHandle(`timers/${id}`).query(lagsQuery)) : undefined;
    if (lags) anchorLags.push(...lags);
    else anchorsUnanswered += 1;
  });

  // Billable actions per cycle, counted between the start and the end of the measurement (a run's
  // one-off actions, its start and first look, left out): a sample of digests and an anchor, each
  // counted only if it did not continue as new in between. A digest's cycles with news cost the
  // rest once its quiet cycles are counted at the quiet cost.
  const actionsAtEnd = await snapshotActions();
  /** What a workflow spent over the measurement: actions and cycles (NaN if it continued as new in between). */
  const spent = (id: string) => {
    const [from, to] = [actionsAtStart.get(id)!, actionsAtEnd.get(id)!];
    const sameRun = from.runId === to.runId;
    const byKind = Object.fromEntries(Object.keys(to.byKind).map((kind) => [kind, (to.byKind[kind] ?? 0) - (from.byKind[kind] ?? 0)]));
    return { actions: sameRun ? to.total - from.total : NaN, byKind: sameRun ? byKind : {}, cycles: to.cycles - from.cycles, newsCycles: to.newsCycles - from.newsCycles };
  };
  const sampled = ids.slice(0, sampleSize).map((id) => spent(id));
  const idle = sampled.filter((d) => d.newsCycles === 0 && d.cycles > 0 && Number.isFinite(d.actions));
  const idleCycle = mean(idle.map((d) => d.actions / d.cycles));
  // What an idle digest's actions were, per cycle: its timers, and anything else (reminder looks, a first skip's patch marker).
  const idleByKind = Object.fromEntries(
    [...new Set(idle.flatMap((d) => Object.keys(d.byKind)))].map((kind) => [kind, mean(idle.map((d) => (d.byKind[kind] ?? 0) / d.cycles))]).filter(([, n]) => n !== 0),
  );
  const actions = {
    idleCycle,
    cycleWithNews: mean(
      sampled.filter((d) => d.newsCycles > 0).map((d) => (d.actions - idleCycle * (d.cycles - d.newsCycles)) / d.newsCycles).filter(Number.isFinite),
    ),
    anchorCycle: ((anchor) => anchor.actions / anchor.cycles)(spent(`timers/${ids[0]}`)),
  };

  const herald_ = { lag: lagFigures(heraldLags), skipped, cycles: heraldLags.length };
  const anchor = { lag: lagFigures(anchorLags), wakes: anchorLags.length, unanswered: anchorsUnanswered };
  const workerFigures = {
    firstStartSeconds: first.seconds,
    restartSeconds: restart.seconds,
    cpuPercent: { mean: mean(samples.map((s) => s.cpuPercent)), max: Math.max(...samples.map((s) => s.cpuPercent)) },
    rssMiB: { first: samples[0]?.rssMiB ?? NaN, last: samples.at(-1)?.rssMiB ?? NaN, max: Math.max(...samples.map((s) => s.rssMiB)) },
    anchorRssMiB: { last: samples.at(-1)?.anchorRssMiB ?? NaN, max: Math.max(...samples.map((s) => s.anchorRssMiB)) },
  };
  const postgresFigures = { maxActiveConnections: Math.max(...samples.map((s) => s.activeConnections)), maxConnections: Math.max(...samples.map((s) => s.connections)) };

  console.log(`\nwake lag, Herald's digests (${sampleSize} sampled): ${seconds(herald_.lag)} over ${herald_.cycles} wakes; ${skipped} wake(s) skipped`);
  console.log(`   anchor, ${count} bare timer loops: ${seconds(anchor.lag)} over ${anchor.wakes} wakes${anchorsUnanswered > 0 ? `; ${anchorsUnanswered} loops did not answer their query in time, or were not asked within ${analysisMs / 1000} s (a server too far behind)` : ''}`);
  console.log(`one-error reports (16 at a time), time to answer: ${seconds(reportSeconds)} over ${reportSeconds.count}${reportsLeftOut > 0 ? `; ${reportsLeftOut} left out, not made within their minute` : ''}`);
  console.log(`Temporal actions per cycle (counted over the measurement, ${sampleSize} digests sampled): idle ${actions.idleCycle.toFixed(2)} (${Object.entries(idleByKind).map(([kind, n]) => `${kind} ${(n as number).toFixed(2)}`).join(', ')}; ${idle.length} idle digests), with news ${actions.cycleWithNews.toFixed(2)}; anchor ${actions.anchorCycle.toFixed(2)} per wake`);
  console.log(`workers (${options.workers}, figures summed): start ${first.seconds.toFixed(2)} s with ${count} new environments, ${restart.seconds.toFixed(2)} s with their digests running; CPU mean ${workerFigures.cpuPercent.mean.toFixed(1)}%, max ${workerFigures.cpuPercent.max.toFixed(1)}% (of one core); RSS ${workerFigures.rssMiB.first.toFixed(0)} -> ${workerFigures.rssMiB.last.toFixed(0)} MiB (max ${workerFigures.rssMiB.max.toFixed(0)})`);
  console.log(
    `memory beside the anchor: Herald's workers ${workerFigures.rssMiB.last.toFixed(0)} MiB (max ${workerFigures.rssMiB.max.toFixed(0)}) with ${count} digests (workflow cache ${options.cache ?? 'by default'}), ${options.workers === 1 ? 'a bare SDK worker' : `${options.workers} bare SDK workers (summed)`} caching ${count} sleeping timer loops ${workerFigures.anchorRssMiB.last.toFixed(0)} MiB (max ${workerFigures.anchorRssMiB.max.toFixed(0)}): ${(workerFigures.rssMiB.last / workerFigures.anchorRssMiB.last).toFixed(2)}×`,
  );
  console.log(`PostgreSQL connections: at most ${postgresFigures.maxActiveConnections} active of ${postgresFigures.maxConnections} open (the worker's pool and the bench's)`);
  if (exited.size > 0) {
    const codes = workers.filter((w) => exited.has(w.pid!)).map((w) => `pid ${w.pid} (${w.exitCode !== null ? `exit code ${w.exitCode}` : w.signalCode ?? 'gone'})`);
    console.log(`workers that exited during the measurement: ${codes.join(', ')}; their CPU counts to their exit, their RSS as 0 after it`);
  }
  console.log(`CPU and RSS over time (every 5 s): ${samples.map((s) => `${s.cpuPercent.toFixed(0)}%/${s.rssMiB.toFixed(0)}M`).join(' ')}`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify({ count, minutes, workers: options.workers, cache: options.cache ?? null, temporal: options.temporal ?? 'dev server', herald: herald_, anchor, reports: reportSeconds, actions, worker: workerFigures, postgres: postgresFigures, samples, exitedWorkers: workers.filter((w) => exited.has(w.pid!)).map((w) => ({ pid: w.pid, exitCode: w.exitCode, signal: w.signalCode })) }, null, 2)}\n`);
  }

  // This run's workflows end with it.
  await inBatches(ids, 16, (id) =>
    Promise.all([environmentDigestWorkflowId(id), `timers/${id}`].map((workflowId) => client.workflow.getHandle(workflowId).terminate('bench ended').catch(() => undefined))),
  );
  await Promise.all([...workers, ...anchorWorkers].map(stopWorker));
  rmSync(folder, { recursive: true, force: true });
  await stack.stop();
}

/**
 * The wakes of a digest between two times, from the history of its current run (a run lasts a
 * day; one that continued as new during the measurement shows its wakes since): when the workflow
 * task each timer woke started, and how long after the time the timer was set for.
 */
async function wakesOf(client: Client, workflowId: string, from: Date, to: Date): Promise<{ at: number; lagMs: number }[]> {
  const wakes: { at: number; lagMs: number }[] = [];
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const due = new Map<string, number>();
  const millis = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
  // A wake is the workflow task that started after its timer fired: its lag, from the time the timer was set for.
  let fired: number | undefined;
  for (const event of events) {
    const at = millis(event.eventTime);
    if (event.timerStartedEventAttributes) {
      due.set(event.timerStartedEventAttributes.timerId!, at + millis(event.timerStartedEventAttributes.startToFireTimeout));
    } else if (event.timerFiredEventAttributes) {
      fired = due.get(event.timerFiredEventAttributes.timerId!);
    } else if (event.workflowTaskStartedEventAttributes && fired !== undefined) {
      if (at >= from.getTime() && at <= to.getTime()) wakes.push({ at, lagMs: Math.max(0, at - fired) });
      fired = undefined;
    }
  }
  return wakes;
}

/** A query that a server far behind may not get answered before its deadline: tried three times, then undefined. */
async function patientQuery<T>(query: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await query();
    } catch {
      if (attempt === 3) return undefined;
    }
  }
}
