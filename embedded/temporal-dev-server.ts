/**
 * The Temporal CLI's dev server (`temporal server start-dev`, with its web UI), run by `npm
 * start` as a process of its own: in its own process group, so a terminal's Ctrl-C reaches
 * Herald alone, which stops the server last, after the worker has drained.
 */
import { spawn } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { listening } from './local-state.js';
import { longPollExpirationFlag } from '../config/takeover.js';

/** The dev server exited before it listened: a port it chose may have been taken meanwhile. */
export class DevServerExitedError extends Error {
  override name = 'DevServerExitedError';
  constructor(code: number, lastWords: string) {
    super(`the Temporal dev server exited (${code}): ${lastWords || 'it said nothing'}`);
  }
}

export interface DevServer {
  address: string;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: {
  /** The `temporal` binary. */
  executable: string;
  port: number;
  uiPort: number;
  namespace: string;
  dbFilename: string;
  extraArgs?: string[];
}): Promise<DevServer> {
  const args = [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--ui-port', String(options.uiPort),
    '--namespace', options.namespace, '--db-filename', options.dbFilename, '--log-level', 'error', ...longPollExpirationFlag, ...(options.extraArgs ?? []),
  ];
  const server = spawn(options.executable, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // Its last words, kept for the error if it exits early (it says some on standard output).
  let errors = '';
  const keep = (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4_000));
  server.stdout!.on('data', keep);
  server.stderr!.on('data', keep);
  const killOnExit = () => server.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));

  // Ready when the frontend accepts connections (it registers the namespace before it listens)
  // and answers: it listens a moment before it is healthy, and a worker that connects then is
  // refused ("Frontend is not healthy yet").
  const deadline = Date.now() + 60_000;
  const address = `127.0.0.1:${options.port}`;
  for (;;) {
    if (server.exitCode !== null) throw new DevServerExitedError(server.exitCode, errors.trim());
    if ((await listening(options.port)) && (await answers(address))) break;
    if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${address} within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    address,
    async stop() {
      process.off('exit', killOnExit);
      if (server.exitCode !== null) return;
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Whether the server at `address` answers a call (its frontend healthy), not only accepts a connection. */
async function answers(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: '5 seconds' });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
