/**
 * `npm run cluster [-- --port 7233] [--postgres-url URL] [--data-dir .herald/cluster] [--shards 4]`
 *
 * A production-shaped Temporal server on this machine: the server itself (not the CLI's dev
 * server), with PostgreSQL persistence, SQL visibility and separate history shards, all services
 * in one process. The first run builds the server and its SQL schema tool from the Go module proxy
 * into .tools/cluster (about 14 CPU-minutes; the Go toolchain it needs comes through the same
 * proxy); later runs start in seconds. PostgreSQL: the one at --postgres-url (a role that may
 * create databases), else an embedded one kept in the data folder. Runs until Ctrl-C.
 *
 * Herald runs against it as against any cluster: TEMPORAL_ADDRESS=127.0.0.1:7233 (README,
 * Production); its workers register Herald's search attributes at start.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { stringify } from 'yaml';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../embedded/embedded-postgres.js';
import { projectRoot } from '../embedded/temporal-binaries.js';
import { listening } from '../embedded/local-state.js';
import { grpcCode, grpcStatus } from '../config/temporal-connection.js';
import { takeoverSettings } from '../config/takeover.js';

/** The server release, and the Go toolchain it needs (fetched by GOTOOLCHAIN through the module proxy). */
export const temporalServer = { module: 'go.temporal.io/server', version: 'v1.32.2', goToolchain: 'go1.26.10' } as const;

const tools = join(projectRoot, '.tools', 'cluster');
const binaries = { server: join(tools, 'temporal-server'), sql: join(tools, 'temporal-sql-tool') };
const schemas = join(tools, 'schema');

const usage = 'usage: npm run cluster [-- --port 7233] [--postgres-url postgres://user:pass@host:port/postgres] [--data-dir .herald/cluster] [--shards 4]';

function options() {
  try {
    const { values } = parseArgs({
      options: {
        port: { type: 'string', default: '7233' },
        'postgres-url': { type: 'string' },
        'data-dir': { type: 'string', default: join('.herald', 'cluster') },
        shards: { type: 'string', default: '4' },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const port = Number(values.port);
    // Each service's membership port is the frontend's minus 300: the SQL schema stores it as a smallint.
    if (!Number.isInteger(port) || port < 1_300 || port > 32_000) throw new Error(`--port: expected a port from 1300 to 32000 (its membership ports must stay below 32768), got "${values.port}"`);
    const shards = Number(values.shards);
    if (!Number.isInteger(shards) || shards < 1 || shards > 16_384) throw new Error(`--shards: expected a whole number from 1 to 16384, got "${values.shards}"`);
    return { port, shards, postgresUrl: values['postgres-url'], dataDir: resolve(values['data-dir']) };
  } catch (error) {
    console.error(`cluster: ${(error as Error).message.split('\n')[0]}\n${usage}`);
    process.exit(2);
  }
}

/** Builds the server and the SQL tool once (with Go's list of packages as they compile), and keeps the PostgreSQL schemas beside them. */
async function ensureBuilt(): Promise<void> {
  if (existsSync(binaries.server) && existsSync(binaries.sql) && existsSync(schemas)) return;
  console.log(`cluster: building Temporal server ${temporalServer.version} with ${temporalServer.goToolchain} into ${tools} (once; about 14 CPU-minutes)…`);
  const build = join(tools, 'build');
  mkdirSync(build, { recursive: true });
  const env = { ...process.env, GOTOOLCHAIN: temporalServer.goToolchain, GOBIN: build };
  const at = `@${temporalServer.version}`;
  const go = spawn('go', ['install', '-v', `${temporalServer.module}/cmd/server${at}`, `${temporalServer.module}/cmd/tools/sql${at}`], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  let packages = 0;
  createInterface({ input: go.stderr! }).on('line', (line) => {
    // `-v` names each package as it is compiled; downloads and errors are shown as they are.
    if (/^[\w.-]+(\/[\w.@-]+)+$/.test(line)) {
      packages += 1;
      if (packages % 50 === 0) console.log(`cluster: ${packages} packages compiled (${line})`);
    } else {
      console.log(`cluster: ${line}`);
    }
  });
  const code = await new Promise<number | null>((done) => go.once('exit', done));
  if (code !== 0) throw new Error(`go install failed (exit ${code}); see above`);
  renameSync(join(build, 'server'), binaries.server);
  renameSync(join(build, 'sql'), binaries.sql);
  const modules = spawnSync('go', ['env', 'GOMODCACHE'], { env, encoding: 'utf8' }).stdout.trim();
  cpSync(join(modules, `${temporalServer.module}@${temporalServer.version}`, 'schema', 'postgresql', 'v12'), schemas, { recursive: true });
  rmSync(build, { recursive: true, force: true });
  console.log(`cluster: built (${packages} packages)`);
}

/** Creates the persistence and visibility databases where missing, and brings their schemas up to this release's. */
async function ensureSchemas(adminUrl: string): Promise<void> {
  const url = new URL(adminUrl);
  const sql = (database: string, ...args: string[]) => {
    const run = spawnSync(
      binaries.sql,
      ['--plugin', 'postgres12', '--endpoint', url.hostname, '--port', url.port || '5432', '--user', decodeURIComponent(url.username),
        '--password', decodeURIComponent(url.password), '--database', database, ...args],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed: ${run.stderr || run.stdout}`);
  };
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const [database, folder] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
      const exists = (await admin.query('select 1 from pg_database where datname = $1', [database])).rowCount === 1;
      if (!exists) {
        console.log(`cluster: creating database ${database}`);
        sql(database, 'create-database');
        sql(database, 'setup-schema', '--version', '0.0');
      }
      sql(database, 'update-schema', '--schema-dir', join(schemas, folder, 'versioned'));
    }
  } finally {
    await admin.end();
  }
}

/** The server's configuration: every service in one process, each on its own ports. */
function serverConfig(adminUrl: string, port: number, shards: number, dataDir: string) {
  const url = new URL(adminUrl);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${url.hostname}:${url.port || '5432'}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (offset: number, http?: boolean) => ({
    rpc: { grpcPort: port + offset, membershipPort: port - 300 + offset, bindOnLocalHost: true, ...(http && { httpPort: port + 10 }) },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: shards,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${port + 767}` } },
    },
    services: { frontend: service(0, true), history: service(1), matching: service(2), worker: service(6) },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${port}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: join(dataDir, 'dynamic-config.yaml'), pollInterval: '10s' },
  };
}

/** What Herald needs of the server beyond its defaults. */
const dynamicConfig = {
  // Herald's workflow ids name environments, flows and reports.
  'limit.maxIDLength': [{ value: 1000 }],
  // Search attributes added at a worker's start are usable at once.
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
  // A paused worker's open polls end before a retry of its sending attempt can come (config/takeover.ts).
  'matching.longPollExpirationInterval': [{ value: takeoverSettings.longPollExpiration }],
};

/** Registers the `default` namespace (where missing) and waits until it answers. */
async function ensureNamespace(port: number, server: ChildProcess): Promise<void> {
  while (!(await listening(port))) {
    if (server.exitCode !== null) throw new Error(`the Temporal server exited (${server.exitCode}) before it listened on ${port}; see its log above`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    for (;;) {
      try {
        await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('3 days') });
        break;
      } catch (error) {
        if (grpcCode(error) === grpcStatus.alreadyExists) break;
        // The frontend listens before its membership has formed: ask again.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    for (;;) {
      try {
        await connection.workflowService.listWorkflowExecutions({ namespace: 'default', pageSize: 1 });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const { port, shards, postgresUrl, dataDir } = options();
  if (await listening(port)) throw new Error(`port ${port} is in use (a dev server of npm start?): stop it or choose --port`);
  await ensureBuilt();
  mkdirSync(dataDir, { recursive: true });
  let embedded: EmbeddedDatabase | undefined;
  if (!postgresUrl) {
    console.log(`cluster: starting PostgreSQL in ${join(dataDir, 'postgres')}`);
    embedded = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: port + 21_000 < 65_536 ? port + 21_000 : port - 1_000, persistent: true });
  }
  const adminUrl = postgresUrl ?? embedded!.adminUrl;
  await ensureSchemas(adminUrl);
  const configFile = join(dataDir, 'temporal.yaml');
  writeFileSync(configFile, stringify(serverConfig(adminUrl, port, shards, dataDir)));
  writeFileSync(join(dataDir, 'dynamic-config.yaml'), stringify(dynamicConfig));

  const server = spawn(binaries.server, ['--config-file', configFile, '--allow-no-auth', 'start'], { stdio: ['ignore', 'inherit', 'inherit'] });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (server.exitCode === null) {
        const exited = new Promise((done) => server.once('exit', done));
        server.kill('SIGTERM');
        await exited;
      }
      await embedded?.stop();
    })());
  // Ctrl-C reaches this process twice (from the terminal and from npm's wrapper): one stop, in order, then exit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop().then(() => process.exit(0)));
  try {
    await ensureNamespace(port, server);
  } catch (error) {
    await stop();
    throw error;
  }
  console.log(
    `cluster: Temporal ${temporalServer.version} ready at 127.0.0.1:${port} (namespace default; PostgreSQL persistence, SQL visibility, ${shards} history shards; ` +
      `server metrics at http://127.0.0.1:${port + 767}/metrics). Ctrl-C stops it; its data stays in ${dataDir}.`,
  );
  const code = await new Promise<number | null>((done) => server.once('exit', done));
  await embedded?.stop();
  if (code !== 0 && code !== null) process.exit(code);
}

main().catch((error: unknown) => {
  console.error(`cluster: ${(error as Error).message}`);
  process.exit(1);
});
