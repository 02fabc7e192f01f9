import { sleep } from '@temporalio/workflow';
import { workflowNow } from './workflow-time.js';

interface Timer {
  at: number;
  rang: boolean;
}

/**
 * The timer a long-lived workflow sleeps on between requests. A request wakes the workflow
 * without cancelling the timer: a request whose workflow task was still in progress when the
 * timer fired would cancel a timer already fired, which the time-skipping test server refuses
 * (the run never gets another task; a real server takes the cancel). The timer is slept on again
 * while the time it was set for stands; one left behind by a new time only wakes the run once more.
 */
export class WakeUp {
  private timer?: Timer;

  /** Whether the time `at` (workflow time, ms) has come; sets the timer for it when none is set. */
  rung(at: number): () => boolean {
    if (this.timer?.at !== at) {
      const timer: Timer = { at, rang: false };
      this.timer = timer;
      // A cancelled run stops where it waits; the cancel of its timer is nobody's failure.
      sleep(Math.max(1, at - workflowNow())).then(
        () => (timer.rang = true),
        () => undefined,
      );
    }
    const timer = this.timer;
    return () => timer.rang;
  }
}
