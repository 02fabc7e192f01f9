/**
 * Sending from inside a Temporal activity: email/send-deliveries.ts does the sending; this says
 * which attempt it is (its fence, what an earlier attempt left unmarked, its heartbeats, a worker
 * shutting down) and what time it is.
 */
import { Context } from '@temporalio/activity';
import type { AcceptedEmail, DeliveryStore, SendFence } from '../stores/delivery-store.js';
import { deliveryMetrics } from './metrics.js';
import { sendDeliveries, type DeliveryTally, type SendDeliveriesOptions, type SendingAttempt } from '../email/send-deliveries.js';

/** The heartbeat details of a send attempt: the accepted emails whose marks are not yet written. */
interface SendProgress {
  unmarked: AcceptedEmail[];
}

const fencesOfAttempts = new WeakMap<Context, Promise<SendFence>>();

/**
 * The fence of the current activity attempt (S44), taken once however many sendings the attempt
 * runs: its emails and its channel posts hold the same one, so that neither takes it from the other.
 */
export function attemptFence(store: Pick<DeliveryStore, 'takeFence'>): Promise<SendFence> {
  const context = Context.current();
  let fence = fencesOfAttempts.get(context);
  if (!fence) {
    const { scope, holder } = attemptNames(context);
    fence = store.takeFence(scope, holder);
    fencesOfAttempts.set(context, fence);
  }
  return fence;
}

/** Whose sending the attempt fences (its workflow), and its own name. */
function attemptNames(context: Context) {
  const { workflowExecution, activityId, attempt } = context.info;
  return { scope: workflowExecution?.workflowId ?? `activity/${activityId}`, holder: `${workflowExecution?.runId}/${activityId}#${attempt}` };
}

/** The current activity attempt, as a sending attempt. */
function currentSendingAttempt(store: DeliveryStore): SendingAttempt {
  const context = Context.current();
  return {
    fence: () => attemptFence(store),
    carried: (context.info.heartbeatDetails as SendProgress | undefined)?.unmarked ?? [],
    heartbeat: (unmarked) => context.heartbeat({ unmarked } satisfies SendProgress),
    stopping: context.cancellationSignal,
  };
}

/** Sends deliveries in the current activity attempt, on its clock unless `now` is given. */
export function sendInThisAttempt(options: Omit<SendDeliveriesOptions, 'attempt' | 'now'> & { now?: () => Date }): Promise<DeliveryTally> {
  return sendDeliveries({ ...options, attempt: currentSendingAttempt(options.store), now: options.now ?? activityClock(), observe: deliveryMetrics() });
}

/**
 * The clock of an activity: the Temporal server's time when this attempt was scheduled, moved on
 * by the time the attempt has run. Retry times of deferred deliveries are written and compared on
 * it, so they agree with the workflow timers that wake for them, whatever the worker's own clock
 * says (and under the test server's skipped time).
 */
export function activityClock(): () => Date {
  const base = Context.current().info.currentAttemptScheduledTimestampMs;
  const start = performance.now();
  return () => new Date(base + (performance.now() - start));
}
