import { afterAll } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../embedded/temporal-binaries.js';
import { installQuietRuntime } from './quiet-logger.js';
import { heraldDataConverter } from '../../client/payload-codec.js';

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
    const kill = () => {
      try {
        process.kill(server, 'SIGKILL');
      } catch {
        // Already stopped by the teardown.
      }
    };
    process.once('exit', kill);
    // The runner may end this process with a signal, which skips 'exit'.
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        kill();
        process.exit(128);
      });
    }
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
