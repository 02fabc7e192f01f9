/**
 * The digest's own metrics, on the workflow's meter (emitted by the worker's runtime, never while
 * a history is replayed): how late each scheduled cycle started against its due time, and how
 * long cycles take. No environment label: the alert on a digest that leaves news untaken reads the
 * worker's gauge of the oldest news waiting instead (worker/operations-metrics.ts).
 */
import { metricMeter } from '@temporalio/workflow';

/** Records a cycle that ran from `startedAt` to `endedAt`, due at `dueAt` (absent: asked for now, never late). */
export function recordCycle(times: { dueAt?: number; startedAt: number; endedAt: number }): void {
  if (times.dueAt !== undefined && Number.isFinite(times.dueAt)) {
    metricMeter
      .createHistogram('herald_digest_cycle_lag_seconds', 'float', 's', 'How late a scheduled digest cycle started, against its due time')
      .record(Math.max(0, times.startedAt - times.dueAt) / 1000);
  }
  metricMeter.createHistogram('herald_digest_cycle_seconds', 'float', 's', 'How long a digest cycle took, from fixing it to its last email').record((times.endedAt - times.startedAt) / 1000);
}
