import { Runtime, DefaultLogger, type Logger } from '@temporalio/worker';

/** A logger that keeps errors only (expected failures in tests log warnings), so test output stays readable. */
export const quietLogger: Logger = new DefaultLogger('ERROR');

/** Installs the quiet logger as the Temporal runtime's (once per process). */
export function installQuietRuntime(): void {
  try {
    // Core's own warnings too: the test server lacks capabilities of a real cluster, and core says so on every worker.
    Runtime.install({ logger: quietLogger, telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // Already installed in this process.
  }
}
