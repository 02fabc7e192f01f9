import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The variable that marks every process a test run starts: its children inherit it. */
export const runMarker = 'HERALD_TEST_RUN';

/** The processes (other than this one) that carry `runMarker=id` in their environment, with their command lines (Linux /proc). */
export function processesOfRun(id: string): { pid: number; command: string }[] {
  const mark = `${runMarker}=${id}`;
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(mark)) continue;
      // A zombie has exited; its parent has only not yet collected it.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * Fails when processes of the run outlive it, after giving them `graceMs` to exit; kills them, so
 * that one run's leftovers do not burden the next.
 */
export async function failOnSurvivors(id: string, graceMs = 10_000): Promise<void> {
  const deadline = Date.now() + graceMs;
  let survivors = processesOfRun(id);
  while (survivors.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    survivors = processesOfRun(id);
  }
  if (survivors.length === 0) return;
  for (const { pid } of survivors) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  // Vitest reports a teardown's error but keeps its exit code: the run fails here.
  process.exitCode = 1;
  throw new Error(`${survivors.length} process(es) of the test run outlived it (killed now):\n${survivors.map((p) => `  ${p.pid} ${p.command.slice(0, 200)}`).join('\n')}`);
}

const endings = new Set<() => void>();
let installed = false;

/**
 * Runs `kill` when this test process ends, however it ends: normally, or by the runner's signal
 * (which skips 'exit' unless someone turns it into an exit, as done here once for all). A file whose
 * tests a filter skips never runs its `afterAll`, so what it started must end this way too.
 */
export function endWithThisProcess(kill: () => void): void {
  endings.add(kill);
  if (installed) return;
  installed = true;
  process.once('exit', () => endings.forEach((end) => end()));
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => process.exit(128));
}

/** Ends a child process (SIGKILL) with this one; see {@link endWithThisProcess}. */
export function endChildWithThisProcess(child: { pid?: number; kill(signal: NodeJS.Signals): boolean }): void {
  endWithThisProcess(() => {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  });
}

/**
 * Resolves once a worker process (worker/main.ts, its standard output piped) says it runs: its
 * "worker running" line, logged at info; rejects when it exits first.
 */
export function workerRunning(child: ChildProcess): Promise<void> {
  return new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('"msg":"worker running"') && ready());
    child.once('exit', (code) => fail(new Error(`the worker process exited (${code}) before it was ready`)));
  });
}
