import { Runtime, DefaultLogger, type Logger } from '@temporalio/worker';

/** A logger that keeps errors only (expected failures in tests log warnings), so test output stays readable. */
export const quietLogger: Logger = new DefaultLogger('ERROR');

/** Installs the quiet logger as the Temporal runtime's (once per process). */
export function installQuietRuntime(): void {
  try {
    Runtime.install({ logger: quietLogger });
  } catch {
    // Already installed in this process.
  }
}
