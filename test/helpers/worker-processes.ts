import { afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heraldWorkflowBundle } from './herald.js';
import { compiledHerald } from './compiled-herald.js';
import { endChildWithThisProcess, workerRunning } from './run-processes.js';

/** The production worker (`npm run worker`: worker/main.ts), compiled as the build compiles it. */
const workerScript = () => `${compiledHerald()}/worker/main.js`;

export interface WorkerProcessSettings {
  temporalAddress: string;
  databaseUrl: string;
  smtpUrl: string;
  taskQueue: string;
  /** More of Herald's environment variables (HERALD_DIGEST_INTERVAL, …). */
  variables?: Record<string, string>;
}

let bundleFile: Promise<string> | undefined;

/** Herald's workflows, bundled once per test file into a file that worker processes load (HERALD_WORKFLOW_BUNDLE). */
function workflowBundleFile(): Promise<string> {
  bundleFile ??= (async () => {
    const folder = mkdtempSync(join(tmpdir(), 'herald-bundle-'));
    afterAll(() => rmSync(folder, { recursive: true, force: true }));
    const file = join(folder, 'workflow-bundle.js');
    writeFileSync(file, (await heraldWorkflowBundle()).code);
    return file;
  })();
  return bundleFile;
}

/**
 * Herald's production workers (worker/main.ts, as `npm run worker` runs it built) in processes of
 * their own, for tests that kill or pause them: `start()` resolves once the new one polls. Each
 * starts the digests its environments lack, as every worker does. All are killed when the file ends.
 */
export function workerProcesses(settings: WorkerProcessSettings) {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((child) => child.kill('SIGKILL')));
  const bundle = workflowBundleFile();
  return {
    children,
    async start(): Promise<ChildProcess> {
      const workflowBundle = await bundle;
      // node itself, with nothing between: a SIGKILL must reach the process that runs the worker.
      const child = spawn(process.execPath, [workerScript()], {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: settings.temporalAddress,
          DATABASE_URL: settings.databaseUrl,
          SMTP_URL: settings.smtpUrl,
          HERALD_TASK_QUEUE: settings.taskQueue,
          HERALD_WORKFLOW_BUNDLE: workflowBundle,
          HERALD_SECRET: 'the-herald-test-secret-of-32-characters',
          HERALD_FROM: 'Herald <herald@herald.test>',
          HERALD_APP_URL: 'https://app.herald.test',
          // Info: the worker says it runs in a line at that level.
          HERALD_LOG_LEVEL: 'info',
          ...settings.variables,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      endChildWithThisProcess(child);
      await workerRunning(child);
      return child;
    },
  };
}

/**
 * The local ports of a process's TCP connections to `port` on this machine, as it holds them now
 * (`ss`): which messages a test SMTP server received from that process (ReceivedMail.clientPort).
 */
export function connectionPorts(pid: number, port: number): number[] {
  const lines = execFileSync('ss', ['-Htnp', 'dst', `127.0.0.1:${port}`], { encoding: 'utf8' }).split('\n');
  return lines
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => Number(line.trim().split(/\s+/)[3]!.split(':').at(-1)));
}
