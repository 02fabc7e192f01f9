/**
 * The real stack every part of the bench runs on: an embedded PostgreSQL, an SMTP server in a
 * process of its own (as a real one would be), and Temporal: a cluster given by address
 * (`--temporal host:port`), or the CLI's dev server (SQLite) on this machine.
 */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Knex } from 'knex';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { cliExecutable } from '../embedded/temporal-binaries.js';
import { startTemporalDevServer, type DevServer } from '../embedded/temporal-dev-server.js';
import { searchAttributeFlags } from '../worker/search-attributes.js';
import { freePort } from '../test/helpers/ports.js';

export interface BenchStack {
  db: Knex;
  databaseUrl: string;
  smtpUrl: string;
  /** What the SMTP server has accepted so far, and its CPU time. */
  acceptedBySink(): Promise<{ accepted: number; bytes: number; cpuMs: number }>;
  /** Temporal's frontend address. */
  temporalAddress: string;
  nativeConnection: NativeConnection;
  connection: Connection;
  stop(): Promise<void>;
}

export async function startBenchStack(options: { temporal?: string; poolSize?: number }): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const pgDir = mkdtempSync(join(tmpdir(), 'herald-bench-pg-'));
  const postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: await freePort(), persistent: false });
  const db = connectDatabase(postgres.adminUrl, { max: options.poolSize ?? 20 });
  await migrateLatest(db);

  const sink = fork(fileURLToPath(new URL('./smtp-sink.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  // A bench that fails leaves no server behind.
  process.on('exit', () => sink.kill());
  const sinkPort = await new Promise<number>((resolve) =>
    sink.stdout!.on('data', (chunk: Buffer) => {
      const match = /port (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    }),
  );
  const acceptedBySink = () =>
    new Promise<{ accepted: number; bytes: number; cpuMs: number }>((resolve) => {
      sink.once('message', resolve);
      sink.send('count');
    });

  let temporalServer: DevServer | undefined;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let temporalAddress: string;
  if (options.temporal) {
    temporalAddress = options.temporal;
    nativeConnection = await NativeConnection.connect({ address: options.temporal });
    connection = await Connection.connect({ address: options.temporal });
  } else {
    // A process of its own, whose banner does not mix with the bench's figures.
    const cli = cliExecutable();
    if (cli.type !== 'existing-path') throw new Error('the bench runs the Temporal CLI of .tools/bin (npm install puts it there) or TEMPORAL_CLI_PATH; neither is there');
    temporalServer = await startTemporalDevServer({
      executable: cli.path,
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      dbFilename: join(dataDir, 'temporal.sqlite'),
      extraArgs: ['--headless', ...searchAttributeFlags()],
    });
    temporalAddress = temporalServer.address;
    nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    connection = await Connection.connect({ address: temporalAddress });
  }
  return {
    db,
    databaseUrl: postgres.adminUrl,
    smtpUrl: `smtp://127.0.0.1:${sinkPort}`,
    acceptedBySink,
    temporalAddress,
    nativeConnection,
    connection,
    async stop() {
      await db.destroy();
      await connection.close();
      await nativeConnection.close();
      await temporalServer?.stop();
      await postgres.stop();
      sink.kill();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(pgDir, { recursive: true, force: true });
    },
  };
}
