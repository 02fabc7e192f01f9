import { afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const workerScript = fileURLToPath(new URL('../fixtures/worker-process.ts', import.meta.url));

export interface WorkerProcessSettings {
  temporalAddress: string;
  databaseUrl: string;
  smtpUrl: string;
  taskQueue: string;
  /** A prebuilt workflow bundle's file. */
  bundleFile: string;
}

/**
 * Herald workers in processes of their own (test/fixtures/worker-process.ts), for tests that kill
 * them with SIGKILL: `start()` resolves once the new one polls. All are killed when the file ends.
 */
export function workerProcesses(settings: WorkerProcessSettings) {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((child) => child.kill('SIGKILL')));
  return {
    children,
    async start(): Promise<ChildProcess> {
      // node itself, with tsx as a loader: a SIGKILL must reach the process that runs the worker.
      const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: settings.temporalAddress,
          DATABASE_URL: settings.databaseUrl,
          SMTP_URL: settings.smtpUrl,
          HERALD_TASK_QUEUE: settings.taskQueue,
          HERALD_WORKFLOW_BUNDLE: settings.bundleFile,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((ready, fail) => {
        child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && ready());
        child.once('exit', (code) => fail(new Error(`the worker process exited (${code}) before it was ready`)));
      });
      return child;
    },
  };
}
