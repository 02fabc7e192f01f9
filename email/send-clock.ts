import { Context } from '@temporalio/activity';

/**
 * The clock of a send activity: the Temporal server's time when this attempt was scheduled,
 * moved on by the time the attempt has run. Retry times of deferred deliveries are written and
 * compared on it, so they agree with the workflow timers that wake for them, whatever the
 * worker's own clock says (and under the test server's skipped time).
 */
export function activityClock(): () => Date {
  const base = Context.current().info.currentAttemptScheduledTimestampMs;
  const start = performance.now();
  return () => new Date(base + (performance.now() - start));
}
