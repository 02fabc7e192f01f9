/**
 * Sending planned emails, for every kind of delivery (S12, S33, S34, S38). Used inside a send
 * activity (activities/sending.ts says which attempt it is); the caller supplies the deliveries one
 * at a time and how to compose each.
 *
 * The rules it keeps:
 * - An email goes to SMTP only while outcomes can be recorded: the first failure to read or write
 *   the database, or an outage of the mail server, stops it handing out more (the emails in flight
 *   finish, then the attempt fails for Temporal to retry).
 * - An email SMTP accepted is never sent again: its `sent` mark is written by the next claim of
 *   its connection's slot (one statement marks it and claims the next email), or as the attempt
 *   ends; while the database is down, the attempt waits (heartbeating) until the marks are written.
 *   The emails still unmarked travel in the heartbeat details, so an attempt that dies with them is
 *   followed by one that marks them before it sends anything.
 * - One recipient never holds others back: a refusal for good is recorded as failed, a refusal for
 *   now is deferred with backoff, an email that cannot be composed is failed with the reason.
 * - Sending is fenced (S44): the attempt takes its workflow's fence when it starts and checks it
 *   before each email, in the statement that finds the delivery still pending; an attempt that lost
 *   it (its worker paused or starved past the heartbeat timeout, and replaced) sends nothing more.
 *   No more emails are past that check and not yet marked than the mailer has connections, so a
 *   worker that dies or loses its fence leaves at most that many in flight.
 */
import type { AcceptedEmail, DeliveryKind, DeliveryStore, SendFence } from '../stores/delivery-store.js';
import { isDataError } from '../stores/database-errors.js';
import { ClaimExpiredError, RecipientRefusedError, type Mailer, type OutgoingEmail } from './mailer.js';

/** One planned email, ready to be composed and sent. */
/**
 * How long a claim to send an email is trusted: less than the shortest time in which another
 * attempt can take the sending over (a heartbeat timeout, 20 s, less the 2 s between heartbeats:
 * config/takeover.ts), more than a busy machine takes from the claim to the mail server.
 */
export const claimFreshMs = 10_000;

export interface DeliveryJob {
  kind: DeliveryKind;
  deliveryId: number;
  recipient: string;
  messageId: string;
  /** False when the user left the account or unsubscribed since the email was planned (S38). */
  wanted: boolean;
  compose(): Promise<Omit<OutgoingEmail, 'to' | 'messageId'>>;
}

/** What became of the emails one call handled. */
export interface DeliveryTally {
  sent: number;
  failed: number;
  deferred: number;
  cancelled: number;
}

/**
 * The attempt that sends: who it is, what an earlier attempt left it, and how it tells the world
 * it is alive. Its retry, on any worker, is a new attempt that carries on from its heartbeats.
 */
export interface SendingAttempt {
  /** The attempt's fence over its workflow's sending, taken once for all it sends (emails and channel posts alike). */
  fence(): Promise<SendFence>;
  /** Accepted emails an earlier attempt left unmarked (from its last heartbeat). */
  carried: AcceptedEmail[];
  /** Reports the accepted emails not yet marked: called every 2 s and as the attempt ends. */
  heartbeat(unmarked: AcceptedEmail[]): void;
  /** Aborted when the worker shuts down: the attempt stops handing out emails and fails, for its retry to send the rest. */
  stopping: AbortSignal;
}

export interface SendDeliveriesOptions {
  attempt: SendingAttempt;
  mailer: Mailer;
  store: DeliveryStore;
  /** The next delivery to send, or undefined when there are no more (for this call). */
  next(): Promise<DeliveryJob | undefined>;
  /** Emails sent at once. */
  concurrency: number;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a recipient refused for now is tried again. */
  retryLimitMs: number;
  now: () => Date;
  /** How long to wait for the database to take the marks of accepted emails before failing the attempt. */
  markPatienceMs?: number;
  /** Told what became of each email (for metrics), and of each refusal by the SMTP server. */
  observe?: DeliveryObserver;
}

/** Hears what became of each email as it happens. */
export interface DeliveryObserver {
  outcome(kind: DeliveryKind, outcome: keyof DeliveryTally): void;
  refused(kind: DeliveryKind, refusal: RecipientRefusedError): void;
}

const heartbeatEveryMs = 2_000;

/** Sends until `next()` runs out; throws (after the emails in flight) on any failure that is not one recipient's. */
export async function sendDeliveries(options: SendDeliveriesOptions): Promise<DeliveryTally> {
  const { attempt, mailer, store, concurrency, retryLimitMs, now, markPatienceMs = 4 * 60_000 } = options;
  const fence = await attempt.fence();
  const slots = sendingSlots(mailer.connections);
  const unmarked: AcceptedEmail[] = [...attempt.carried];
  const beat = () => attempt.heartbeat(unmarked);
  beat();
  const timer = setInterval(beat, heartbeatEveryMs);
  const tally: DeliveryTally = { sent: 0, failed: 0, deferred: 0, cancelled: 0 };
  // The first failure that is not one recipient's: once set, nothing more is handed to SMTP.
  let halt: { error: unknown } | undefined;

  // An accepted email's mark rides on the next claim of its slot: one statement marks it sent and
  // claims the slot's next email, so no more accepted emails are unmarked at once than the mailer
  // has connections (the duplicate window of S33), and each email costs one statement at full
  // speed. What no next claim marked (the last of each slot, or after a failure) is marked as the
  // attempt ends, and travels in the heartbeats until then.
  const marked = (emails: AcceptedEmail[]) => {
    for (const email of emails) unmarked.splice(unmarked.indexOf(email), 1);
  };

  const deliver = async (job: DeliveryJob): Promise<keyof DeliveryTally | undefined> => {
    if (!job.wanted) {
      await store.markCancelled(job.deliveryId, 'not sent: the user left the account or unsubscribed after the email was planned');
      return 'cancelled';
    }
    let composed;
    try {
      composed = await job.compose();
    } catch (error) {
      // A database that cannot be read is an outage; anything else about this one email is its own failure.
      if (!isDataError(error) && !(error instanceof EmailCompositionError)) throw error;
      await store.markFailed(job.deliveryId, `could not be composed: ${(error as Error).message}`);
      return 'failed';
    }
    // From the fence's check until the mark is written, the email holds one of the connections' slots.
    const slot = await slots.take();
    try {
      // While this sender waited for a slot, another may have stopped the attempt: its email stays pending.
      if (halt) return undefined;
      // A claim is as old as the moment it was asked for: the process may stand still before it
      // reads the answer as well as after.
      let claimedAt = 0;
      const claim = async () => {
        claimedAt = Date.now();
        const accepted = slot.accepted.splice(0);
        let state: Awaited<ReturnType<typeof store.claimForSending>>;
        try {
          state = await store.claimForSending(job.deliveryId, fence, accepted);
        } catch (error) {
          // Not written: marked as the attempt ends, however long the database takes.
          slot.accepted.push(...accepted);
          throw error;
        }
        marked(accepted);
        if (state === 'fenced') throw new SendingAttemptSupersededError(fence);
        return state === 'claimed';
      };
      if (!(await claim())) return undefined;
      // Handed to SMTP only while the claim is fresh; a process that stood still since (a pause
      // after which another attempt may have taken over) checks its claim again first.
      for (let sent = false; !sent; ) {
        try {
          await mailer.send({ ...composed, to: job.recipient, messageId: job.messageId, notAfter: claimedAt + claimFreshMs });
          sent = true;
        } catch (error) {
          if (error instanceof ClaimExpiredError) {
            if (!(await claim())) return undefined;
            continue;
          }
          if (!(error instanceof RecipientRefusedError)) {
            await store.recordAttempt(job.deliveryId, String(error)).catch(() => undefined);
            throw error;
          }
          options.observe?.refused(job.kind, error);
          if (error.permanent) {
            await store.markFailed(job.deliveryId, error.message, composed.subject);
            return 'failed';
          }
          return store.defer(job.deliveryId, error.message, now(), retryLimitMs);
        }
      }
      const accepted = { deliveryId: job.deliveryId, messageId: job.messageId, subject: composed.subject };
      unmarked.push(accepted);
      slot.accepted.push(accepted);
      return 'sent';
    } finally {
      slots.give(slot);
    }
  };

  const worker = async () => {
    while (!halt) {
      // A worker shutting down aborts the attempt: stop here and fail it (retryable), so the
      // retry, on this worker or another, sends the rest at once instead of after a timeout.
      if (attempt.stopping.aborted) {
        halt = { error: new SendingStoppedError() };
        return;
      }
      try {
        const job = await options.next();
        if (!job || halt) return;
        const outcome = await deliver(job);
        if (outcome) {
          tally[outcome] += 1;
          options.observe?.outcome(job.kind, outcome);
        }
      } catch (error) {
        halt ??= { error };
      }
    }
  };

  try {
    await markThroughOutage(store, unmarked, beat, markPatienceMs);
    await Promise.all(Array.from({ length: concurrency }, worker));
    // Accepted emails whose marks failed: written before this attempt ends, however long the database takes.
    await markThroughOutage(store, unmarked, beat, markPatienceMs);
  } finally {
    clearInterval(timer);
    beat();
  }
  if (halt) throw halt.error;
  return tally;
}

/**
 * Marks the accepted emails in `unmarked` sent, retrying while the database is unreachable, up
 * to `patienceMs`; then fails, leaving them in the heartbeat details for the next attempt.
 */
async function markThroughOutage(store: DeliveryStore, unmarked: AcceptedEmail[], beat: () => void, patienceMs: number): Promise<void> {
  const deadline = performance.now() + patienceMs;
  for (let wait = 250; unmarked.length > 0; wait = Math.min(wait * 2, 5_000)) {
    try {
      await store.markSent(unmarked);
      unmarked.length = 0;
    } catch (error) {
      if (isDataError(error) || performance.now() + wait > deadline) throw error;
      beat();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** One of the connections' slots, with the email it sent whose mark waits for its next claim. */
interface SendingSlot {
  accepted: AcceptedEmail[];
}

/** `count` slots: `take()` waits while all are taken. */
function sendingSlots(count: number) {
  const free: SendingSlot[] = Array.from({ length: count }, () => ({ accepted: [] }));
  const waiting: ((slot: SendingSlot) => void)[] = [];
  return {
    async take(): Promise<SendingSlot> {
      return free.pop() ?? new Promise<SendingSlot>((resolve) => waiting.push(resolve));
    },
    give(slot: SendingSlot): void {
      const next = waiting.shift();
      if (next) next(slot);
      else free.push(slot);
    },
  };
}

/** Thrown when the worker shuts down mid-attempt (a retryable failure): the retry sends the rest at once. */
export class SendingStoppedError extends Error {
  override readonly name = 'SendingStoppedError';
  constructor() {
    super('the worker is shutting down; the rest is sent by the retry');
  }
}

/**
 * Thrown when a sending attempt finds that a later attempt took its fence (S44): it sends nothing
 * more and fails (retryably: Temporal ignores the result of an attempt it has replaced, and an
 * attempt that was itself overtaken by a late starter is tried again).
 */
export class SendingAttemptSupersededError extends Error {
  override readonly name = 'SendingAttemptSupersededError';
  constructor(fence: SendFence) {
    super(`another attempt took over sending for ${fence.scope} (this attempt held generation ${fence.generation}); this one sends nothing more`);
  }
}

/**
 * Thrown while composing one email when its content cannot be made into an email (a template
 * that fails on its data): that delivery is failed with the reason, and the others go on.
 */
export class EmailCompositionError extends Error {
  override readonly name = 'EmailCompositionError';
}
