/**
 * `npm start`: runs Herald. Each part that is not configured is started here on embedded
 * defaults: the Temporal dev server with its web UI (TEMPORAL_ADDRESS unset), an embedded
 * PostgreSQL (DATABASE_URL unset) and a mail catcher (SMTP_URL unset). Ctrl-C stops it all.
 */
import { NativeConnection } from '@temporalio/worker';
import pretty from 'pino-pretty';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, loadConfig, type HeraldConfig } from '../config/config.js';
import { heraldLogger } from '../observability/log.js';
import { startTracing } from '../observability/tracing.js';
import { installWorkerRuntime } from './runtime.js';
import { databaseAddress, refusedConnectionTo, UnreachableError } from '../config/unreachable.js';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { embeddedPorts, keptSecret, localStateFolders, portInUse } from '../embedded/local-state.js';
import { cliExecutable } from '../embedded/temporal-binaries.js';
import { startTemporalDevServer } from '../embedded/temporal-dev-server.js';
import { startMailCatcher } from '../embedded/mail-catcher.js';
import { runHerald } from './run-herald.js';
import { searchAttributeFlags } from './search-attributes.js';
import { temporalTarget } from '../config/temporal-connection.js';
import { Connection } from '@temporalio/client';
import { applyCatalog } from '../catalog/catalog.js';
import { demoCatalogFile, readCatalogFile } from '../catalog/catalog-file.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { runServer } from '../server/run-server.js';

const ports = embeddedPorts;
/** Herald's server answers the Temporal UI's codec calls (payloads of 1 KiB and more are compressed). */
const serverUrl = `http://127.0.0.1:${ports.server}`;
const codecEndpoint = `${serverUrl}/codec`;

async function main(): Promise<void> {
  const config = readConfig();
  const folders = localStateFolders(config.dataDir);
  const dataDir = folders.data;
  // A second `npm start` (or anything else on these ports) is told so in one line, before it starts anything.
  const busy = await portInUse([
    ...(config.databaseUrl ? [] : (['postgres'] as const)),
    ...(config.smtpUrl ? [] : (['smtp', 'mailWeb'] as const)),
    ...(config.temporalAddress ? [] : (['temporal', 'temporalUi'] as const)),
    'server',
  ]);
  if (busy) {
    console.error(`herald: 127.0.0.1:${busy.port} (${busy.service}) is already in use: is Herald already running? Stop it first (Ctrl-C in its terminal).`);
    process.exit(1);
  }
  mkdirSync(dataDir, { recursive: true });
  // What is starting, as it starts: the whole takes seconds (the workflows are bundled at start).
  const starting = (part: string) => console.log(`herald: starting ${part}…`);
  const stops: (() => Promise<void>)[] = [];
  const lines: string[] = [];
  // One log for the worker and the server, in readable lines (production processes write JSON).
  const logStream = pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true });
  const workerLogger = heraldLogger('herald-worker', config.logLevel, logStream);
  // Herald, not the SDK, answers Ctrl-C: it drains the worker, then stops the services in order.
  installWorkerRuntime({ config, logger: workerLogger, shutdownSignals: [] });
  const tracing = await startTracing('herald');

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    starting('PostgreSQL (embedded)');
    const postgres = await startEmbeddedPostgres({ dataDir: folders.postgres, port: ports.postgres, persistent: true });
    stops.unshift(() => postgres.stop());
    const admin = connectDatabase(postgres.adminUrl, { max: 1 });
    const exists = await admin.raw(`select 1 from pg_database where datname = 'herald'`);
    if (exists.rows.length === 0) await admin.raw('create database herald');
    await admin.destroy();
    databaseUrl = postgres.urlFor('herald');
    lines.push(`PostgreSQL (embedded)   ${databaseUrl}`);
  }

  let smtpUrl = config.smtpUrl;
  if (!smtpUrl) {
    starting('the mail catcher');
    const catcher = await startMailCatcher({ folder: join(dataDir, 'mail'), smtpPort: ports.smtp, webPort: ports.mailWeb });
    stops.unshift(() => catcher.close());
    smtpUrl = catcher.smtpUrl;
    lines.push(`Mail catcher            ${catcher.webUrl}  (SMTP ${catcher.smtpUrl})`);
  }

  let connection: NativeConnection;
  const temporalAddress = config.temporalAddress ?? `127.0.0.1:${ports.temporal}`;
  const target = temporalTarget(temporalAddress);
  if (config.temporalAddress) {
    connection = await NativeConnection.connect(target.connectionOptions).catch((error: unknown) => {
      throw new UnreachableError('Temporal', config.temporalAddress!, 'TEMPORAL_ADDRESS', error, givenAdvice('TEMPORAL_ADDRESS'));
    });
    stops.unshift(() => connection.close());
    lines.push(`Temporal                ${config.temporalAddress} (namespace ${config.temporalNamespace})`);
  } else {
    starting('the Temporal dev server');
    const dbFilename = join(dataDir, 'temporal.sqlite');
    const executable = cliExecutable();
    if (executable.type === 'existing-path') {
      const devServer = await startTemporalDevServer({
        executable: executable.path,
        port: ports.temporal,
        uiPort: ports.temporalUi,
        namespace: config.temporalNamespace,
        dbFilename,
        extraArgs: [...searchAttributeFlags(), '--ui-codec-endpoint', codecEndpoint],
      });
      stops.push(() => devServer.stop());
      connection = await NativeConnection.connect({ address: devServer.address });
      stops.unshift(() => connection.close());
    } else {
      // No local binary (.tools/bin is filled by npm install): the SDK downloads the CLI and runs it.
      const devServer = await TestWorkflowEnvironment.createLocal({
        server: { executable, ip: '127.0.0.1', port: ports.temporal, ui: true, uiPort: ports.temporalUi, namespace: config.temporalNamespace, dbFilename, extraArgs: [...searchAttributeFlags(), '--ui-codec-endpoint', codecEndpoint] },
      });
      stops.push(() => devServer.teardown());
      connection = devServer.nativeConnection;
    }
    lines.push(`Temporal (dev server)   127.0.0.1:${ports.temporal}, web UI http://127.0.0.1:${ports.temporalUi}`);
  }

  const db = connectDatabase(databaseUrl, {}, { quiet: true });
  stops.unshift(() => db.destroy());
  if (config.migrateOnStart || !config.databaseUrl) {
    const applied = await migrateLatest(db);
    if (applied.length > 0) lines.push(`Migrations applied      ${applied.join(', ')}`);
  }

  // An empty database gets the demo catalog (examples/catalog.yaml), for `herald simulate`.
  if (process.env.HERALD_DEMO_CATALOG !== '0' && !(await db('accounts').first('id'))) {
    await applyCatalog(db, await readCatalogFile(demoCatalogFile));
    lines.push('Demo catalog            examples/catalog.yaml, loaded into the empty database (try: npm run demo)');
  }

  const clientConnection = await Connection.connect(config.temporalAddress ? target.connectionOptions : { address: temporalAddress });
  stops.unshift(() => clientConnection.close());
  const secret = config.secret ?? keptSecret(dataDir, { make: true })!;
  const heraldTemporal = createTemporalClient(clientConnection, config.temporalNamespace);
  starting('the worker (bundling the workflows)');
  const herald = await runHerald({
    config: { ...config, databaseUrl, smtpUrl, secret },
    connection,
    client: heraldTemporal,
    db,
    migrate: false,
    logger: workerLogger,
    tracing,
  });
  const { worker } = herald;
  // Every environment's digest: those this start began, and those running since an earlier one.
  const digests: string[] = await db('environments').whereNull('removed_at').orderBy('id').pluck('id');
  starting("Herald's server");
  const server = await runServer({
    config: { ...config, databaseUrl, smtpUrl, secret },
    temporal: heraldTemporal,
    db,
    listen: { host: '127.0.0.1', port: ports.server },
    logger: heraldLogger('herald-server', config.logLevel, logStream),
    codecOrigins: [`http://127.0.0.1:${ports.temporalUi}`, `http://localhost:${ports.temporalUi}`],
  });
  stops.unshift(() => server.stop());
  lines.push(`Herald server           ${serverUrl} (API /api/v1, /api/openapi.json; /healthz, /readyz; /codec for the Temporal UI)`);
  lines.push(`Digest workflows        ${digests.length ? digests.map((id) => `digest/${id}`).join(', ') : 'none yet (apply a catalog)'}`);
  lines.push(`Metrics                 ${serverUrl}/metrics (server)${config.metricsListen ? `, http://${config.metricsListen}/metrics (worker)` : '; the worker\'s with HERALD_METRICS_LISTEN'}`);
  lines.push(`Worker                  task queue "${config.taskQueue}" (digest every ${config.digestIntervalMs / 60_000} min)`);
  lines.push(`Data                    ${dataDir}${folders.postgres.startsWith(dataDir) || config.databaseUrl ? '' : ` and ${dirname(folders.postgres)}`} (npm run reset removes it)`);
  if (process.env.HERALD_DEMO === '1') lines.push('Demo mode               short periods: digest every minute, retry window 1 min, connection grace 15 s');
  console.log(`\nHerald is running.\n  ${lines.join('\n  ')}\nPress Ctrl-C to stop.\n`);

  // Herald owns the order of shutdown: the worker drains first, then the services it used stop.
  // A terminal's Ctrl-C can arrive twice (directly and relayed by npm/tsx): only a later one forces.
  // Other listeners stay: tsx's own tells it that the signal arrived (without it, tsx kills Herald).
  let stoppingSince: number | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stoppingSince === undefined) {
        stoppingSince = Date.now();
        console.log('\nStopping Herald (Ctrl-C again to force)…');
        worker.shutdown();
      } else if (Date.now() - stoppingSince > 2_000) process.exit(130);
    });
  }
  await herald.running.finally(() => herald.stop());
  for (const stop of stops) await stop().catch((error: unknown) => console.error('herald: while stopping:', error));
  await tracing.shutdown();
  console.log('Herald stopped.');
}

/** HERALD_DEMO=1 (`npm run start:demo`): short periods, so the demo shows everything within minutes. */
const demoDefaults = { HERALD_DIGEST_INTERVAL: '1m', HERALD_RETRY_WINDOW: '1m', HERALD_CONNECTION_GRACE: '15s' };

/**
 * What `npm start` runs on this machine alone allows channels on it too (S43): `herald simulate`
 * posts to a receiver of its own on 127.0.0.1. The production worker (`npm run worker`) allows
 * nothing private unless HERALD_CHANNEL_ALLOW says so.
 */
const localDefaults = { HERALD_CHANNEL_ALLOW: '127.0.0.1,::1' };

function readConfig(): HeraldConfig {
  try {
    return loadConfig({ ...localDefaults, ...(process.env.HERALD_DEMO === '1' && demoDefaults), ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`herald: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

/** What to do about a service set by a variable that does not answer. */
function givenAdvice(variable: string): string {
  return `is it running? Correct ${variable}, or unset it for the one npm start runs itself`;
}

main().catch((error: unknown) => {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl && !(error instanceof UnreachableError)) {
    const address = databaseAddress(databaseUrl);
    if (refusedConnectionTo(error, address)) error = new UnreachableError('PostgreSQL', address, 'DATABASE_URL', error, givenAdvice('DATABASE_URL'));
  }
  if (error instanceof UnreachableError) console.error(`herald: ${error.message}`);
  else console.error('herald: failed to start:', error);
  process.exit(1);
});
