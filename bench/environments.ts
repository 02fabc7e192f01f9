/**
 * `npm run bench -- environments --count N [--minutes 5] [--workers 1] [--cache N] [--json FILE] [--temporal host:port]`:
 * N environments (2 users, 1 flow each), each with its digest every 60 s (N = 2,000 at 60 s is the
 * cycle rate of 30,000 environments at 15 min), for some minutes; every minute a tenth of them,
 * chosen at random, get an error. Herald's workers run as `npm run worker` runs them, each in a
 * process of its own (`--workers`; `--cache` sets their HERALD_CACHED_WORKFLOWS). Anchor, in the same run on the same server: N bare workflows that sleep 60 s in a
 * loop (the platform's own cost of N timers). Prints figures; asserts nothing.
 */
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyCatalog, type Catalog } from '../catalog/catalog.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { HeraldClient } from '../client/herald-client.js';
import { workflowsPath } from '../worker/worker.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { billableActions, total } from '../test/helpers/billable-actions.js';
import { workerRunning } from '../test/helpers/run-processes.js';
import { startBenchStack } from './stack.js';
import { lagsQuery, timerLoop } from './floor-workflow.js';

const periodMs = 60_000;
const taskQueue = 'bench-environments';
const inBatches = async <T>(items: T[], size: number, work: (item: T) => Promise<unknown>) => {
  for (let at = 0; at < items.length; at += size) await Promise.all(items.slice(at, at + size).map(work));
};
const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);
const lagFigures = (lagsMs: number[]) => {
  const sorted = [...lagsMs].sort((a, b) => a - b);
  return { count: sorted.length, p50: quantile(sorted, 0.5) / 1000, p99: quantile(sorted, 0.99) / 1000, max: (sorted.at(-1) ?? NaN) / 1000 };
};
const seconds = (figures: { p50: number; p99: number; max: number }) => `p50 ${figures.p50.toFixed(2)} s, p99 ${figures.p99.toFixed(2)} s, max ${figures.max.toFixed(2)} s`;

export async function benchEnvironments(options: { count: number; minutes: number; workers: number; cache?: number; temporal?: string; json?: string }): Promise<void> {
  const { count, minutes } = options;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const stack = await startBenchStack({ temporal: options.temporal, poolSize: 10 });
  const { db } = stack;
  const client = createTemporalClient(stack.connection);
  const ids = Array.from({ length: count }, (_, i) => `env-${String(i).padStart(5, '0')}`);
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
  writeFileSync(bundleFile, (await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') })).code);
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
  const sum = (measure: (pid: number) => number) => workers.reduce((total, worker) => total + measure(worker.pid!), 0);

  // The anchor: N bare timer loops on a worker of their own, in this process.
  const anchorWorker = await Worker.create({
    connection: stack.nativeConnection,
    taskQueue: 'bench-timers',
    workflowBundle: await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./floor-workflow.ts', import.meta.url)), logger: new DefaultLogger('ERROR') }),
    maxCachedWorkflows: count,
  });
  const anchorRunning = anchorWorker.run();
  await inBatches(ids, 16, (id) => client.workflow.start(timerLoop, { workflowId: `timers/${id}`, taskQueue: 'bench-timers', args: [periodMs] }));

  // Measuring: errors every minute for a tenth; CPU, memory and database connections every 5 s.
  const herald = new HeraldClient({ temporal: client, taskQueue });
  const measuredFrom = new Date();
  const ticks = 100;
  const cpuOf = (pid: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  };
  const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  const samples: { cpuPercent: number; rssMiB: number; activeConnections: number; connections: number }[] = [];
  let lastCpu = sum(cpuOf);
  let lastAt = performance.now();
  const sampler = setInterval(() => {
    void (async () => {
      const cpu = sum(cpuOf);
      const now = performance.now();
      const pg = (await db.raw(`select count(*) filter (where state = 'active') as active, count(*) as total from pg_stat_activity where backend_type = 'client backend'`)).rows[0];
      samples.push({ cpuPercent: ((cpu - lastCpu) / ((now - lastAt) / 1000)) * 100, rssMiB: sum(rssOf), activeConnections: Number(pg.active), connections: Number(pg.total) });
      lastCpu = cpu;
      lastAt = now;
    })();
  }, 5_000);
  const withNews = new Set<string>();
  const reportTimes: number[] = [];
  for (let minute = 0; minute < minutes; minute += 1) {
    const chosen = ids.filter(() => Math.random() < 0.1);
    chosen.forEach((id) => withNews.add(id));
    await inBatches(chosen, 16, async (id) => {
      const started = performance.now();
      await herald.reportErrors({ environment: id, flow: `flow-${id}`, reportId: `minute-${minute}`, errors: [{ traceKey: `rec-${minute}`, message: 'Rejected by the target' }] });
      reportTimes.push(performance.now() - started);
    });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, measuredFrom.getTime() + (minute + 1) * periodMs - Date.now())));
  }
  clearInterval(sampler);

  // Herald's lag: each cycle's start (fixed_at) against its due time, the end of the one before
  // (its completion, or its fixing when it had nothing to send) plus the interval; skipped: due times with no cycle (a gap over 1.9 intervals, or a digest
  // whose last cycle is that long before the end).
  const measuredTo = new Date();
  const cycles: { environment_id: string; fixed_at: Date; completed_at: Date | null }[] = await db('digest_cycles')
    .where('fixed_at', '>=', new Date(measuredFrom.getTime() - 2 * periodMs))
    .orderBy(['environment_id', 'number'])
    .select('environment_id', 'fixed_at', 'completed_at');
  const heraldLags: number[] = [];
  let skipped = 0;
  const missed = (gapMs: number) => (gapMs > 1.9 * periodMs ? Math.round(gapMs / periodMs) - 1 : 0);
  for (let i = 0; i < cycles.length; i += 1) {
    const [before, cycle, after] = [cycles[i - 1], cycles[i]!, cycles[i + 1]];
    if (before?.environment_id === cycle.environment_id && cycle.fixed_at >= measuredFrom) {
      // A cycle with nothing to send ends as it is fixed (it records no completion).
      const ended = before.completed_at ?? before.fixed_at;
      heraldLags.push(Math.max(0, cycle.fixed_at.getTime() - (ended.getTime() + periodMs)));
      skipped += missed(cycle.fixed_at.getTime() - before.fixed_at.getTime());
    }
    if (after?.environment_id !== cycle.environment_id) skipped += missed(measuredTo.getTime() - cycle.fixed_at.getTime());
  }
  const reportSeconds = lagFigures(reportTimes);
  const anchorLags: number[] = [];
  await inBatches(ids, 16, async (id) => anchorLags.push(...(await client.workflow.getHandle(`timers/${id}`).query(lagsQuery))));

  // Billable actions per cycle, from the current run of a digest with news, one without, and an anchor.
  const actionsPerCycle = async (workflowId: string, cyclesOf: (startedAt: Date) => Promise<number>) => {
    const run = await client.workflow.getHandle(workflowId).describe();
    const actions = await billableActions(client, workflowId, run.runId);
    return (total(actions) - (actions.start ?? 0)) / Math.max(1, await cyclesOf(run.startTime));
  };
  const digestCycles = (id: string) => async (startedAt: Date) => Number((await db('digest_cycles').where({ environment_id: id }).where('fixed_at', '>=', startedAt).count({ n: '*' }))[0]!.n);
  const idle = ids.find((id) => !withNews.has(id));
  const news = ids.find((id) => withNews.has(id));
  const actions = {
    idleCycle: idle ? await actionsPerCycle(environmentDigestWorkflowId(idle), digestCycles(idle)) : NaN,
    cycleWithNews: news ? await actionsPerCycle(environmentDigestWorkflowId(news), digestCycles(news)) : NaN,
    anchorCycle: await actionsPerCycle(`timers/${ids[0]}`, async () => (await client.workflow.getHandle(`timers/${ids[0]}`).query(lagsQuery)).length),
  };

  const herald_ = { lag: lagFigures(heraldLags), skipped, cycles: heraldLags.length };
  const anchor = { lag: lagFigures(anchorLags), wakes: anchorLags.length };
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const workerFigures = {
    firstStartSeconds: first.seconds,
    restartSeconds: restart.seconds,
    cpuPercent: { mean: mean(samples.map((s) => s.cpuPercent)), max: Math.max(...samples.map((s) => s.cpuPercent)) },
    rssMiB: { first: samples[0]?.rssMiB ?? NaN, last: samples.at(-1)?.rssMiB ?? NaN, max: Math.max(...samples.map((s) => s.rssMiB)) },
  };
  const postgresFigures = { maxActiveConnections: Math.max(...samples.map((s) => s.activeConnections)), maxConnections: Math.max(...samples.map((s) => s.connections)) };

  console.log(`\ncycle start lag, Herald's digests: ${seconds(herald_.lag)} over ${herald_.cycles} cycles; ${skipped} cycle(s) skipped`);
  console.log(`   anchor, ${count} bare timer loops: ${seconds(anchor.lag)} over ${anchor.wakes} wakes`);
  console.log(`one-error reports (16 at a time), time to answer: ${seconds(reportSeconds)} over ${reportSeconds.count}`);
  console.log(`Temporal actions per cycle: idle ${actions.idleCycle.toFixed(2)}, with news ${actions.cycleWithNews.toFixed(2)}; anchor ${actions.anchorCycle.toFixed(2)}`);
  console.log(`workers (${options.workers}, figures summed): start ${first.seconds.toFixed(2)} s with ${count} new environments, ${restart.seconds.toFixed(2)} s with their digests running; CPU mean ${workerFigures.cpuPercent.mean.toFixed(1)}%, max ${workerFigures.cpuPercent.max.toFixed(1)}% (of one core); RSS ${workerFigures.rssMiB.first.toFixed(0)} -> ${workerFigures.rssMiB.last.toFixed(0)} MiB (max ${workerFigures.rssMiB.max.toFixed(0)})`);
  console.log(`PostgreSQL connections: at most ${postgresFigures.maxActiveConnections} active of ${postgresFigures.maxConnections} open (the worker's pool and the bench's)`);
  console.log(`CPU and RSS over time (every 5 s): ${samples.map((s) => `${s.cpuPercent.toFixed(0)}%/${s.rssMiB.toFixed(0)}M`).join(' ')}`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify({ count, minutes, workers: options.workers, cache: options.cache ?? null, temporal: options.temporal ?? 'dev server', herald: herald_, anchor, reports: reportSeconds, actions, worker: workerFigures, postgres: postgresFigures, samples }, null, 2)}\n`);
  }

  await Promise.all(workers.map(stopWorker));
  anchorWorker.shutdown();
  await anchorRunning;
  rmSync(folder, { recursive: true, force: true });
  await stack.stop();
}
