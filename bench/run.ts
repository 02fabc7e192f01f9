/**
 * `npm run bench`: Herald's throughput on this machine, on the real stack (Temporal, embedded
 * PostgreSQL, an SMTP server in a process of its own), each figure beside an anchor measured in
 * the same run on the same parts, repeated (min, median, max) and as a ratio of the anchor.
 * Prints figures; asserts nothing.
 *   errors: one report of 10,000 errors (the first into a fresh database)  vs  a raw multi-row INSERT into the errors table
 *           200 concurrent one-error reports                                 vs  a bare workflow with one DB activity
 *   digest: one cycle for 2,000 users, 200 flows, 20,000 new errors         vs  raw nodemailer sending Herald's own email
 *           and the fix alone, with 20,000 new errors                        vs  the same fix with 20 (it should not grow)
 *
 *   http:   200 concurrent one-error reports over the HTTP API                vs  the same through the client
 *
 *   pages:  the errors page at 1,000,000 error rows (first page, far down, by flow), milliseconds
 *
 *   catalog: one account synced whole over the API (10,000 users, 50,000 subscriptions)  vs  the same rows in two raw INSERTs
 *
 *   retention: 1,000,000 rows past HERALD_RETENTION purged beside reports and a digest cycle   vs  the same figures without the purge (named only)
 *
 *   environments: N environments, each with its digest at 60 s, for minutes   vs  N bare workflows that sleep 60 s in a loop
 *
 *   npm run bench [-- errors|http|pages|digest|catalog|retention] [--rounds 3] [--json FILE] [--temporal host:port]
 *   takeover: a sending worker paused mid-cycle, another started: seconds until it takes over (bench/takeover.ts)
 *
 *   rhythms: whose digest is due, 2,000 persons of mixed rhythms at each cycle of ten days   vs  one zone-aware reading of the time a person (bench/rhythms.ts)
 *
 *   npm run bench -- takeover [--rounds 3] [--temporal host:port]
 *   npm run bench -- rhythms [--rounds 3]
 *   npm run bench -- environments [--count 500] [--minutes 5] [--workers 1] [--cache N] [--json FILE] [--temporal host:port]
 */
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { applyCatalog, type Catalog } from '../catalog/catalog.js';
import { mjmlCompilations } from '../email/render.js';
import { previewDigest } from '../email/digest-preview.js';
import { runHerald } from '../worker/run-herald.js';
import { loadConfig } from '../config/config.js';
import { heraldLogger, temporalLogger } from '../observability/log.js';
import pino from 'pino';
import { tmpdir } from 'node:os';
import { environmentDigest, runCycleNowUpdate, stopDigestSignal } from '../workflows/environment-digest.js';
import { retention } from '../workflows/retention.js';
import { startBenchStack } from './stack.js';
import { billableActions, total } from '../test/helpers/billable-actions.js';
import { errorReportWorkflowId } from '../workflows/workflow-ids.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { runServer } from '../server/run-server.js';
import { createTokenStore } from '../stores/token-store.js';
import { createPageStore } from '../stores/page-store.js';
import { createDigestStore } from '../stores/digest-store.js';
import { createTrendStore } from '../stores/trend-store.js';
import { errorFingerprint } from '../stores/fingerprint.js';
import { newsCycleSql } from '../stores/digest-news.js';

const { values: flags, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, json: { type: 'string' }, temporal: { type: 'string' }, count: { type: 'string' }, minutes: { type: 'string' }, workers: { type: 'string' }, cache: { type: 'string' } },
  allowPositionals: true,
});
const only = positionals[0];
if (only === 'environments') {
  // A part of its own: many environments, each with its digest, for minutes (bench/environments.ts).
  const { benchEnvironments } = await import('./environments.js');
  await benchEnvironments({
    count: Number(flags.count ?? 500),
    minutes: Number(flags.minutes ?? 5),
    workers: Number(flags.workers ?? 1),
    cache: flags.cache === undefined ? undefined : Number(flags.cache),
    temporal: flags.temporal,
    json: flags.json,
  }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
  process.exit(0);
}
if (only === 'rhythms') {
  // A part of its own, in this process alone: no stack (bench/rhythms.ts).
  const { benchRhythms } = await import('./rhythms.js');
  benchRhythms({ rounds: Number(flags.rounds) });
  process.exit(0);
}
if (only === 'takeover') {
  // A part of its own: a paused sending worker and the one that takes over (bench/takeover.ts).
  const { benchTakeover } = await import('./takeover.js');
  await benchTakeover({ rounds: Number(flags.rounds), temporal: flags.temporal }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
  process.exit(0);
}
const rounds = Number(flags.rounds);
// The bench prints its figures and nothing else: the worker's, the server's and the Temporal
// runtime's logs go to a file it names.
const logFile = `${tmpdir()}/herald-bench-${process.pid}.log`;
const log = heraldLogger('herald', 'info', pino.destination({ dest: logFile, sync: false }));
console.log(`bench: the worker's and server's logs go to ${logFile}`);
Runtime.install({ logger: temporalLogger(log.child({ service: 'temporal-runtime' })) });
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

// ---- the stack --------------------------------------------------------------------------

const stack = await startBenchStack({ temporal: flags.temporal });
const { db, smtpUrl, acceptedBySink, nativeConnection, connection } = stack;
const client = createTemporalClient(connection);
const benchConfig = loadConfig({ DATABASE_URL: stack.databaseUrl, SMTP_URL: smtpUrl, HERALD_TASK_QUEUE: 'bench', HERALD_FROM: 'Herald <bench@herald.test>', HERALD_APP_URL: 'https://app.herald.test', HERALD_SECRET: 'the-bench-secret-of-at-least-32-characters', HERALD_DIGEST_INTERVAL: '24h', HERALD_API_RATE: '1000000' });
const running = await runHerald({
  config: benchConfig,
  connection: nativeConnection,
  client,
  db,
  migrate: false,
  ensureDigests: false,
  maxConcurrentActivityTaskExecutions: 200,
  smtpConnections: 8,
  logger: log.child({ service: 'herald-worker' }),
});
const herald = running.herald;
// The floor's worker: a bare workflow and one insert, on a task queue of its own.
await db.raw('create table bench_floor (id bigserial primary key, at timestamptz not null default now())');
const floorWorker = await Worker.create({
  connection: nativeConnection,
  taskQueue: 'bench-floor',
  workflowBundle: await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./floor-workflow.ts', import.meta.url)), logger: new DefaultLogger('ERROR') }),
  activities: { floorActivity: async () => void (await db('bench_floor').insert({})) },
  maxConcurrentActivityTaskExecutions: 200,
});
const floorRunning = floorWorker.run();

const flows = Array.from({ length: 200 }, (_, i) => `flow-${String(i).padStart(3, '0')}`);
const users = Array.from({ length: 2_000 }, (_, i) => `user${i}@bench.test`);
const catalog: Catalog = {
  accounts: [{ id: 'bench', name: 'Bench Corp' }],
  users: users.map((email) => ({ account: 'bench', email, role: 'monitor' })),
  environments: [
    { id: 'bench-prod', account: 'bench', name: 'Production', production: true },
    { id: 'bench-errors', account: 'bench', name: 'Error intake', production: false },
    { id: 'bench-raw', account: 'bench', name: 'Raw inserts of the anchor', production: false },
    { id: 'bench-old', account: 'bench', name: 'Records past retention', production: false },
  ],
  integrations: Array.from({ length: 20 }, (_, i) => ({ id: `int-${i}`, environment: 'bench-prod', name: `Integration ${i}` })).concat([
    { id: 'intake', environment: 'bench-errors', name: 'Intake' },
    { id: 'old', environment: 'bench-old', name: 'Old' },
  ]),
  flows: flows
    .map((id, i) => ({ id, integration: `int-${i % 20}`, name: `Flow ${i}`, autoResolve: false }))
    .concat([
      { id: 'intake-flow', integration: 'intake', name: 'Intake flow', autoResolve: true },
      { id: 'old-flow', integration: 'old', name: 'Old flow', autoResolve: false },
    ]),
  // Each user follows 10 flows, spread so that few users share the same set.
  subscriptions: users.map((email, i) => ({
    environment: 'bench-prod',
    user: email,
    flows: Array.from({ length: 10 }, (_, k) => flows[(i * 7 + k * 13) % 200]!),
  })),
};
await applyCatalog(db, catalog);

// The HTTP API, on Herald's own server, with a token of the bench's account.
const apiServer = await runServer({ config: benchConfig, temporal: client, db, listen: { host: '127.0.0.1', port: 0 }, logger: log.child({ service: 'herald-server' }) });
const apiBase = apiServer.url;
const apiToken = (await createTokenStore(db).create('bench', 'bench')).token;

// ---- figures ----------------------------------------------------------------------------

interface Figure {
  name: string;
  unit: string;
  values: number[];
  anchor?: { name: string; values: number[] };
}
const figures = new Map<string, Figure>();
const record = (key: string, name: string, unit: string, value: number, anchor?: { name: string; value: number }) => {
  const figure = figures.get(key) ?? { name, unit, values: [], ...(anchor && { anchor: { name: anchor.name, values: [] } }) };
  figure.values.push(value);
  if (anchor) figure.anchor!.values.push(anchor.value);
  figures.set(key, figure);
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) => `median ${median(values).toFixed(0)} (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`;
const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> => {
  const started = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - started) / 1000 };
};

/** Seconds from scheduled to completed of each activity type in a run's history, summed; a local activity's (its marker's times) named "(local)". */
async function activitySeconds(workflowId: string): Promise<Record<string, number>> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<string, { name: string; at: number }>();
  const seconds: Record<string, number> = {};
  const time = (event: (typeof events)[number]) => Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
  for (const event of events) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(String(event.eventId), { name, at: time(event) });
    const done = event.activityTaskCompletedEventAttributes?.scheduledEventId;
    const start = done && scheduled.get(String(done));
    if (start) seconds[start.name] = (seconds[start.name] ?? 0) + (time(event) - start.at) / 1000;
    const marker = event.markerRecordedEventAttributes;
    const payload = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
    if (payload) {
      const local = JSON.parse(new TextDecoder().decode(payload)) as { activity_type: string; original_schedule_time: Timestamp; complete_time: Timestamp };
      const key = `${local.activity_type} (local)`;
      seconds[key] = (seconds[key] ?? 0) + (ms(local.complete_time) - ms(local.original_schedule_time)) / 1000;
    }
  }
  return seconds;
}

/** A protobuf timestamp as a local activity's marker holds it. */
type Timestamp = { seconds: number; nanos: number };
const ms = (t: Timestamp) => t.seconds * 1000 + t.nanos / 1e6;

let digestRounds = 0;
/**
 * One digest cycle for 2,000 users, 200 flows and 20,000 new errors (written directly, stamped as
 * a report stamps them: the cycle is what is measured), beside its anchor: raw nodemailer, same
 * pool size and encoding, sending this user's real digest 2,000 times.
 */
async function digestRound() {
  digestRounds += 1;
  await db.raw(
    `insert into errors (environment_id, flow_id, report_id, error_key, trace_key, message, code, step, status, occurred_at, notified_cycle_id)
     select 'bench-prod', 'flow-' || lpad((g % 200)::text, 3, '0'), 'seed-${digestRounds}', 'e${digestRounds}-' || g, 'trace-' || g,
            'Record ' || g || ' was rejected: the customer account is on credit hold', 'CREDIT_HOLD', 'Import orders', 'open', now(),
            ${newsCycleSql("'bench-prod'")}
       from generate_series(1, 20000) g`,
  );
  const preview = await previewDigest(db, 'bench-prod', users[0]!, 'https://app.herald.test');
  if (preview.kind !== 'email') throw new Error('the bench digest has no email to send');
  const transport = nodemailer.createTransport({ pool: true, maxConnections: 8, maxMessages: 500, url: smtpUrl });
  const raw = await timed(async () => {
    const queue = [...users];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let to = queue.shift(); to; to = queue.shift()) {
          await transport.sendMail({ from: 'Herald <bench@herald.test>', to, subject: preview.subject, html: preview.rendered.html, text: preview.rendered.text, textEncoding: 'base64' });
        }
      }),
    );
  });
  transport.close();

  const digest = await client.workflow.start(environmentDigest, {
    workflowId: `digest/bench-prod-${digestRounds}`,
    taskQueue: 'bench',
    args: [{ environment: 'bench-prod', intervalMs: 24 * 3_600_000 }],
  });
  const sinkBefore = await acceptedBySink();
  const cpuBefore = process.cpuUsage();
  const cycle = await timed(() => digest.executeUpdate(runCycleNowUpdate));
  const smtp = await acceptedBySink();
  const cpu = process.cpuUsage(cpuBefore);
  const steps = await activitySeconds(digest.workflowId);
  // Stopped, and waited for: after a cycle the digest looks for reminders (hourly), which on this
  // table of a million rows takes most of a second; it must not run beside the next figure.
  await digest.signal(stopDigestSignal);
  await digest.result();
  console.log(
    `digest round ${digestRounds}: ${cycle.result.sent} sent in ${cycle.seconds.toFixed(2)} s, ${((smtp.bytes - sinkBefore.bytes) / (smtp.accepted - sinkBefore.accepted) / 1024).toFixed(0)} KiB per email; ` +
      `CPU: bench process ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, SMTP sink ${((smtp.cpuMs - sinkBefore.cpuMs) / 1000).toFixed(2)} s; ` +
      `activities (scheduled to completed): ${Object.entries(steps).map(([name, seconds]) => `${name} ${seconds.toFixed(2)} s`).join(', ')}`,
  );
  return { cycle: cycle.result, seconds: cycle.seconds, rawSeconds: raw.seconds };
}

/**
 * The fix of one cycle of bench-prod (its 2,000 followers of 200 flows) with `count` new errors,
 * alone: the store's fix, timed in a transaction rolled back after, so nothing is planned for good.
 * Run after a digest round, when no other error is new.
 */
async function fixMs(count: number): Promise<number> {
  const trx = await db.transaction();
  try {
    await trx.raw(
      `insert into errors (environment_id, flow_id, report_id, error_key, trace_key, message, code, step, status, occurred_at, notified_cycle_id)
       select 'bench-prod', 'flow-' || lpad((g % 200)::text, 3, '0'), 'fix-probe', 'fix-probe-' || g, 'trace-' || g,
              'Record ' || g || ' was rejected: the customer account is on credit hold', 'CREDIT_HOLD', 'Import orders', 'open', now(),
              ${newsCycleSql("'bench-prod'")}
         from generate_series(1, :count::int) g`,
      { count },
    );
    const store = createDigestStore(trx);
    const number = (await store.lastCycleNumber('bench-prod')) + 1;
    return (await timed(() => store.fixCycle('bench-prod', number))).seconds * 1000;
  } finally {
    await trx.rollback();
  }
}

/** 200 concurrent one-error reports through the client: reports a second. */
async function concurrentReports(prefix: string): Promise<number> {
  const reports = await timed(() =>
    Promise.all(Array.from({ length: 200 }, (_, i) => herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', reportId: `${prefix}-${i}`, errors: [{ traceKey: `${prefix}-${i}`, message: 'x' }] }))),
  );
  return 200 / reports.seconds;
}

/**
 * Retention (S39): 1,000,000 rows older than HERALD_RETENTION (100,000 finished digest cycles,
 * 450,000 resolved errors they announced, 450,000 email records), purged by the retention workflow
 * while reports and a digest cycle run; their figures beside the same figures without the purge.
 */
async function retentionRound(): Promise<void> {
  const seeded = await timed(async () => {
    await db.raw(
      `insert into digest_cycles (environment_id, number, new_count, resolved_count, delivery_count, fixed_at, completed_at)
       select 'bench-old', g, 1, 1, 1, now() - interval '60 days' + g * interval '1 second', now() - interval '60 days' + g * interval '1 second'
         from generate_series(1, 100000) g`,
    );
    const first = Number((await db('digest_cycles').where({ environment_id: 'bench-old' }).min({ id: 'id' }).first())!.id);
    await db.raw(
      `insert into errors (environment_id, flow_id, report_id, error_key, trace_key, message, code, status, occurred_at, resolved_at, notified_cycle_id, resolution_notified_cycle_id)
       select 'bench-old', 'old-flow', 'old', 'old-' || g, 'trace-' || g, 'Record ' || g || ' rejected', 'VALIDATION', 'resolved',
              now() - interval '61 days', now() - interval '60 days', :first::bigint + g % 100000, :first::bigint + g % 100000
         from generate_series(0, 449999) g`,
      { first },
    );
    const userIds = (await db('users').whereIn('email', users).orderBy('id').pluck('id')).map(Number);
    await db.raw(
      `insert into notifications (kind, cycle_id, environment_id, user_id, recipient, status, attempts, created_at, sent_at)
       select 'digest', :first::bigint + g / 2000, 'bench-old', (:users::bigint[])[1 + g % 2000], 'old@bench.test', 'sent', 1,
              now() - interval '60 days', now() - interval '60 days'
         from generate_series(0, 449999) g`,
      { first, users: userIds },
    );
    await db.raw('analyze');
  });
  console.log(`retention: 1,000,000 old rows seeded in ${seeded.seconds.toFixed(1)} s`);

  const figuresOf = async (label: string) => ({ reports: await concurrentReports(`retention-${label}`), digest: await digestRound() });
  const without = await figuresOf('alone');
  const purge = await client.workflow.start(retention, { workflowId: 'bench-retention', taskQueue: 'bench' });
  const purgeStarted = performance.now();
  const beside = await figuresOf('beside');
  const overlapped = (await purge.describe()).status.name === 'RUNNING';
  const purged = await purge.result();
  const purgeSeconds = (performance.now() - purgeStarted) / 1000;
  const rows = purged.errors + purged.deliveries + purged.cycles;
  const drop = (alone: number, during: number) => `${(((alone - during) / alone) * 100).toFixed(0)}%`;
  const digestRate = (figure: typeof without.digest) => figure.cycle.sent / figure.seconds;
  console.log(
    `retention: ${rows.toLocaleString('en')} rows purged (${purged.errors} errors, ${purged.deliveries} email records, ${purged.cycles} cycles) in ${purgeSeconds.toFixed(1)} s, ${purged.rounds} rounds, ${(rows / purgeSeconds).toFixed(0)} rows/s` +
      `${overlapped ? '' : ' (it ended before the figures beside it did: the drop below is understated)'}\n` +
      `   200 concurrent reports: ${without.reports.toFixed(1)} reports/s alone, ${beside.reports.toFixed(1)} beside the purge (drop ${drop(without.reports, beside.reports)})\n` +
      `   digest cycle: ${digestRate(without.digest).toFixed(0)} emails/s alone, ${digestRate(beside.digest).toFixed(0)} beside the purge (drop ${drop(digestRate(without.digest), digestRate(beside.digest))})`,
  );
  record('retentionRows', 'retention: 1,000,000 old rows purged', 'rows/s', rows / purgeSeconds);
  record('retentionReports', 'retention: 200 concurrent reports beside the purge', 'reports/s', beside.reports, { name: 'the same without it', value: without.reports });
  record('retentionDigest', 'retention: digest cycle beside the purge', 'emails/s', digestRate(beside.digest), { name: 'the same without it', value: digestRate(without.digest) });
}

try {
  for (let round = 1; round <= rounds; round += 1) {
    if (!only || only === 'errors') {
      // One report of 10,000 errors; in the first round the first report into this database.
      const errors = Array.from({ length: 10_000 }, (_, i) => ({ traceKey: `rec-${i}`, message: `Record ${i} rejected by the target`, code: 'VALIDATION' }));
      const report = await timed(() => herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', reportId: `bench-10k-${round}`, errors }));
      // Past 1,000, earlier errors are superseded right after the answer: the anchors wait for that,
      // so that it does not run beside them, and its time is printed.
      const settled = await timed(() => client.workflow.getHandle(errorReportWorkflowId('bench-errors', 'intake-flow', `bench-10k-${round}`)).result());
      console.log(`errors: 10,000-error report round ${round}: answered in ${report.seconds.toFixed(2)} s (${report.result.superseded} earlier superseded), run done ${settled.seconds.toFixed(2)} s later`);
      // Anchors: the same 10,000 rows in one raw INSERT (from arrays: one statement, any row count)
      // into Herald's own table, with its indexes and foreign keys, in an environment of its own (the
      // ratio); and into a table of the same columns without either (the machine's bare floor).
      await db.raw('create table if not exists bench_insert (like errors including defaults)');
      const column = <T>(pick: (e: (typeof errors)[number], i: number) => T) => errors.map(pick);
      const rawInsert = (table: string, environment: string) =>
        timed(() =>
          db.raw(
            `insert into ${table} (environment_id, flow_id, report_id, error_key, trace_key, message, code, status, occurred_at)
             select ?, 'intake-flow', ?, k, t, m, c, 'open', now() from unnest(?::text[], ?::text[], ?::text[], ?::text[]) as r(k, t, m, c)`,
            [environment, `raw-${round}`, column((_, i) => `raw-${round}-${i}`), column((e) => e.traceKey), column((e) => e.message), column((e) => e.code)],
          ),
        );
      const intoErrors = await rawInsert('errors', 'bench-raw');
      const intoBare = await rawInsert('bench_insert', 'bench-errors');
      record('report10k', 'one report of 10,000 errors', 'errors/s', report.result.stored / report.seconds, { name: "raw INSERT into Herald's errors table", value: errors.length / intoErrors.seconds });
      record('insert10kBare', 'raw INSERT of the same rows into a table without indexes or foreign keys', 'rows/s', errors.length / intoBare.seconds);

      const singles = await timed(() =>
        Promise.all(Array.from({ length: 200 }, (_, i) => herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', reportId: `single-${round}-${i}`, errors: [{ traceKey: `s-${i}`, message: 'x' }] }))),
      );
      const floor = await timed(() =>
        Promise.all(Array.from({ length: 200 }, (_, i) => client.workflow.execute('floorWorkflow', { workflowId: `floor-${round}-${i}`, taskQueue: 'bench-floor' }))),
      );
      record('reports200', '200 concurrent one-error reports', 'reports/s', 200 / singles.seconds, { name: 'bare start + one DB activity + result', value: 200 / floor.seconds });
      if (round === 1) {
        const plain = errorReportWorkflowId('bench-errors', 'intake-flow', 'single-1-0');
        await client.workflow.getHandle(plain).result();
        const actions = await billableActions(client, plain);
        console.log(`errors: billable Temporal actions of a plain one-error report: ${total(actions)} (${JSON.stringify(actions)})`);
        // An intermittent error that recovers: its report and its retry window, ended by a success report.
        const flaky = await herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', reportId: 'flaky-1', errors: [{ traceKey: 'flaky-rec', message: 'Lock timeout', intermittent: true }] });
        await herald.reportSuccesses({ environment: 'bench-errors', flow: 'intake-flow', traceKeys: ['flaky-rec'] });
        await client.workflow.getHandle(errorReportWorkflowId('bench-errors', 'intake-flow', 'flaky-1')).result();
        const [ofReport, ofWindow] = [await billableActions(client, errorReportWorkflowId('bench-errors', 'intake-flow', 'flaky-1')), await billableActions(client, flaky.retryWorkflowId!)];
        console.log(`errors: billable Temporal actions of an intermittent error that recovers: ${total(ofReport) + total(ofWindow)} (report ${JSON.stringify(ofReport)}, retry window ${JSON.stringify(ofWindow)})`);
      }
    }

    if (!only || only === 'http') {
      // 200 concurrent one-error reports over the HTTP API, beside 200 through the client, in the same
      // round; which goes first alternates, so that the first part of each round is not always the
      // same (the very first part meets a worker that has just started: 17 reports/s where warm rounds
      // give 33; it is HTTP's, against Herald).
      const overHttp = () => timed(() =>
        Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const response = await fetch(`${apiBase}/api/v1/errors`, {
              method: 'POST',
              headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
              body: JSON.stringify({ environment: 'bench-errors', flow: 'intake-flow', reportId: `http-${round}-${i}`, errors: [{ traceKey: `h-${i}`, message: 'x' }] }),
            });
            if (response.status !== 200) throw new Error(`HTTP report answered ${response.status}: ${await response.text()}`);
          }),
        ),
      );
      const throughClient = () => timed(() =>
        Promise.all(Array.from({ length: 200 }, (_, i) => herald.reportErrors({ environment: 'bench-errors', flow: 'intake-flow', reportId: `client-${round}-${i}`, errors: [{ traceKey: `c-${i}`, message: 'x' }] }))),
      );
      const httpFirst = round % 2 === 1;
      const first = await (httpFirst ? overHttp() : throughClient());
      const second = await (httpFirst ? throughClient() : overHttp());
      const [viaHttp, viaClient] = httpFirst ? [first, second] : [second, first];
      record('http200', '200 concurrent one-error reports over HTTP', 'reports/s', 200 / viaHttp.seconds, { name: 'the same through the client', value: 200 / viaClient.seconds });
    }

    if (!only || only === 'catalog') {
      // One account's catalog of 10,000 users and 50,000 subscriptions, synced whole over the API
      // (PUT /api/v1/catalog) into an empty account; anchor: the same users and subscriptions
      // inserted raw, two multi-row INSERTs from arrays, into another empty account.
      const account = `sync-${round}`;
      const syncFlows = Array.from({ length: 50 }, (_, i) => `${account}-flow-${i}`);
      for (const [id, environment] of [[account, `${account}-prod`], [`${account}-raw`, `${account}-raw-prod`]] as const) {
        await applyCatalog(db, {
          accounts: [{ id, name: id }],
          environments: [{ id: environment, account: id, name: 'Production', production: true }],
          integrations: [{ id: `${environment}-shop`, environment, name: 'Shop' }],
          flows: syncFlows.map((flow, i) => ({ id: id === account ? flow : `${flow}-raw`, integration: `${environment}-shop`, name: `Flow ${i}` })),
        });
      }
      const syncUsers = Array.from({ length: 10_000 }, (_, i) => `person${i}@${account}.test`);
      const body = {
        users: syncUsers.map((email) => ({ email, role: 'monitor' })),
        environments: [{ id: `${account}-prod`, name: 'Production', production: true }],
        subscriptions: syncUsers.map((email, i) => ({ environment: `${account}-prod`, user: email, flows: Array.from({ length: 5 }, (_, k) => syncFlows[(i + k * 7) % 50]!) })),
      };
      const syncToken = (await createTokenStore(db).create(account, 'bench sync', ['manage'])).token;
      const synced = await timed(async () => {
        const response = await fetch(`${apiBase}/api/v1/catalog`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (response.status !== 200) throw new Error(`catalog sync answered ${response.status}: ${await response.text()}`);
        return (await response.json()) as { created: { users: number; subscriptions: number } };
      });
      const raw = await timed(async () => {
        const ids = await db.raw(
          `insert into users (account_id, email, role) select ?, unnest(?::text[]), 'monitor' returning id`,
          [`${account}-raw`, syncUsers.map((email) => email.replace(account, `${account}-raw`))],
        );
        const userIds = ids.rows.map((row: { id: string }) => row.id);
        const pairs = body.subscriptions.flatMap((subscription, i) => subscription.flows.map((flow) => [userIds[i], `${flow}-raw`]));
        await db.raw(
          `insert into subscriptions (user_id, environment_id, flow_id) select unnest(?::bigint[]), ?, unnest(?::text[])`,
          [pairs.map(([user]) => user), `${account}-raw-prod`, pairs.map(([, flow]) => flow)],
        );
      });
      const rows = synced.result.created.users + synced.result.created.subscriptions;
      console.log(`catalog: sync of ${synced.result.created.users.toLocaleString('en')} users and ${synced.result.created.subscriptions.toLocaleString('en')} subscriptions round ${round}: ${synced.seconds.toFixed(2)} s (raw inserts ${raw.seconds.toFixed(2)} s)`);
      record('catalog', 'catalog: one account synced whole (10,000 users, 50,000 subscriptions) over the API', 'rows/s', rows / synced.seconds, {
        name: 'the same rows in two raw INSERTs',
        value: rows / raw.seconds,
      });
    }
    if ((!only || only === 'pages') && round === 1) {
      // The errors page at 1,000,000 error rows: the first page and one far down, of an environment and of a flow.
      const existing = Number((await db('errors').count({ n: '*' }).first())!.n);
      if (existing < 1_000_000) {
        // Announced already (by a cycle numbered 0): the digest rounds that follow find them old, not new.
        const [announced] = await db('digest_cycles').insert({ environment_id: 'bench-prod', number: 0, new_count: 0, resolved_count: 0, delivery_count: 0 }).returning('id');
        await db.raw(
          `insert into errors (environment_id, flow_id, report_id, error_key, trace_key, message, fingerprint, code, status, occurred_at, reported_at, resolved_at, notified_cycle_id, resolution_notified_cycle_id)
           select 'bench-prod', 'flow-' || lpad((g % 200)::text, 3, '0'), 'page-seed', 'p-' || g, 'trace-' || g, 'Record ' || g || ' rejected',
                  -- as a report stores them: alike messages, one fingerprint; every 50th a group of its own (a message no pattern folds)
                  case when g % 50 = 0 then 'own:odd-' || g else :fingerprint end, 'VALIDATION',
                  case when g % 10 = 0 then 'resolved' else 'open' end, at, at, case when g % 10 = 0 then at + (g % 97) * interval '1 hour' end,
                  :cycle, case when g % 10 = 0 then :cycle::bigint end
             from generate_series(1, :n) g, lateral (select now() - (g % 720) * interval '1 hour' as at) spread`,
          { cycle: announced.id, n: 1_000_000 - existing, fingerprint: errorFingerprint('Record 1 rejected') },
        );
        await db.raw('analyze errors');
      }
      const pages = createPageStore(db);
      const environment = (await pages.environment('bench', 'bench-prod'))!;
      const deep = Number((await db('errors').where({ environment_id: 'bench-prod' }).orderBy('id').offset(1000).first('id'))!.id);
      for (const [name, filter] of [
        ['first page of an environment', {}],
        ['a page 999,000 errors down', { before: deep }],
        ['first page of a flow, open only', { flow: 'flow-007', status: 'open' as const }],
        ['a flow\'s page far down', { flow: 'flow-007', before: deep }],
      ] as const) {
        const times: number[] = [];
        for (let i = 0; i < 20; i++) times.push((await timed(() => pages.errors(environment, { ...filter, limit: 51 }))).seconds * 1000);
        console.log(`pages: ${name}, at ${Number((await db('errors').count({ n: '*' }).first())!.n).toLocaleString('en')} error rows: ${spread(times)} ms`);
      }
      // The overview (S47) over the same rows, spread over 30 days: what its page reads, part by part.
      const trends = createTrendStore(db);
      const now = new Date();
      for (const [name, read] of [
        ['overview: 48 hours and 30 days, all flows', () => trends.trends('bench-prod', { now, timeZone: 'Europe/Berlin' })],
        ['overview: 48 hours and 30 days, one flow', () => trends.trends('bench-prod', { now, timeZone: 'Europe/Berlin', flow: 'flow-007' })],
        ['overview: noisiest flows, week on week', () => trends.noisiestFlows('bench-prod', now)],
        ['overview: noisiest groups, week on week', () => trends.noisiestGroups('bench-prod', now)],
        ['overview: time to resolve per flow, 30 days', () => trends.resolveTimes('bench-prod', now)],
      ] as [string, () => Promise<unknown>][]) {
        const times: number[] = [];
        for (let i = 0; i < 10; i++) times.push((await timed(read)).seconds * 1000);
        console.log(`pages: ${name}: ${spread(times)} ms`);
      }
    }

    if (!only || only === 'digest') {
      const measured = await digestRound();
      record('digest', `digest cycle, ${measured.cycle.emails} emails, ${measured.cycle.newErrors} new errors`, 'emails/s', measured.cycle.sent / measured.seconds, {
        name: "raw nodemailer with Herald's own email",
        value: users.length / measured.rawSeconds,
      });
      // What a cycle's fix costs as its errors grow (#40: it should not).
      const few = await fixMs(20);
      const many = await fixMs(20_000);
      console.log(`digest fix alone, 2,000 followers: 20 new errors ${few.toFixed(0)} ms, 20,000 new errors ${many.toFixed(0)} ms`);
      record('fix', 'digest fix, 20,000 new errors', 'ms', many, { name: 'the same fix with 20 new errors', value: few });
    }

    if (only === 'retention' && round === 1) await retentionRound();
  }
} finally {
  await apiServer.stop();
  await running.stop();
  floorWorker.shutdown();
  await floorRunning;
}

// ---- report ------------------------------------------------------------------------------

console.log(`\n${rounds} round(s), median (min, max); each figure beside its anchor from the same run:`);
const summary: Record<string, unknown> = {};
for (const [key, figure] of figures) {
  const line = [`${figure.name}: ${spread(figure.values)} ${figure.unit}`];
  if (figure.anchor) {
    const ratio = median(figure.values) / median(figure.anchor.values);
    line.push(`   anchor, ${figure.anchor.name}: ${spread(figure.anchor.values)} ${figure.unit} -> ratio ${ratio.toFixed(2)}`);
    summary[key] = { unit: figure.unit, values: figure.values, anchor: figure.anchor, ratio };
  } else summary[key] = { unit: figure.unit, values: figure.values };
  console.log(line.join('\n'));
}
console.log(`MJML compilations in this process: ${mjmlCompilations()}`);
clearInterval(sampler);
console.log(`memory: peak RSS ${mb(Math.max(peakRss, process.resourceUsage().maxRSS * 1024))} (bench process: worker and client)`);
if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ rounds, figures: summary, peakRssBytes: peakRss }, null, 2)}\n`);

await stack.stop();
