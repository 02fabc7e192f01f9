/**
 * Sending notifications (S12, S33, S34, S38, S44, S49): one loop for every kind and transport.
 * Each transport says how one notification is readied and delivered and what its receiver
 * answered (notifications/email-transport.ts, post-messages.ts); claiming, marking, backing off
 * and fencing are the same for all. An attempt sends in lanes — emails in one, posts to channels
 * in another — each bounded by its own receivers (the SMTP pool's connections, the posts in
 * flight), under one fence, one heartbeat and one halt.
 *
 * The rules it keeps:
 * - A notification goes to its receiver only while outcomes can be recorded: the first failure to
 *   read or write the database, or an outage of the mail server, stops the attempt handing out
 *   more (those in flight finish, then the attempt fails for Temporal to retry).
 * - A notification its receiver took is never sent again: its `sent` mark is written by the next
 *   claim of its slot (one statement marks it and claims the slot's next), or as the attempt ends;
 *   while the database is down, the attempt waits (heartbeating) until the marks are written. The
 *   ones still unmarked travel in the heartbeat details, so an attempt that dies with them is
 *   followed by one that marks them before it sends anything.
 * - One receiver never holds others back: a refusal for good is recorded as failed, a refusal for
 *   now is deferred with backoff (never sooner than the receiver asked), one that cannot be
 *   composed is failed with the reason.
 * - Sending is fenced (S44): the attempt takes its workflow's fence when it starts and checks it
 *   in each claim, the statement that finds the notification still pending and due; an attempt
 *   that lost it (its worker paused or starved past the heartbeat timeout, and replaced) sends
 *   nothing more. No more notifications of a lane are past that check and not yet marked than the
 *   lane has slots, so a worker that dies or loses its fence leaves at most that many in flight.
 */
import type { AcceptedNotification, DeliveryKind, DeliveryStore, SendClaim, SendFence } from '../stores/delivery-store.js';
import { isDataError } from '../stores/database-errors.js';
import { EmailCompositionError } from '../email/email-job.js';
import { ClaimExpiredError } from '../email/mailer.js';

/**
 * How long a claim to send is trusted: less than the shortest time in which another attempt can
 * take the sending over (a heartbeat timeout, 20 s, less the 2 s between heartbeats:
 * config/takeover.ts), more than a busy machine takes from the claim to the receiver.
 */
export const claimFreshMs = 10_000;

/** One notification to send: its outbox row, its kind, and how its transport readies it. */
export interface NotificationJob {
  id: number;
  kind: DeliveryKind;
  /** `email`, or the channel's kind (for metrics). */
  transport: string;
  /**
   * Readies it to send (an email composed, a post's requests made), or says why it is not sent.
   * Throws {@link EmailCompositionError} (or a data error) when this one cannot be made: it fails alone.
   */
  prepare(): Promise<Prepared>;
}

/** A notification ready to go, or cancelled with the reason. */
export type Prepared = { cancel: string } | ReadyNotification;

export interface ReadyNotification {
  /** An email's subject, kept on the row whatever becomes of it. */
  subject?: string;
  /**
   * Hands it to its receiver if that can be done before `notAfter` (ms since the epoch), else
   * throws {@link ClaimExpiredError} having sent nothing; answers what the receiver said. Any other
   * throw is the transport's failure as a whole (a mail server down): the attempt halts.
   */
  deliver(notAfter: number): Promise<Delivered>;
}

/** What the receiver answered. */
export type Delivered =
  | { outcome: 'sent'; messageId?: string; status?: number }
  | { outcome: 'retry'; error: string; status?: number | null; retryAfterMs?: number | null }
  | { outcome: 'failed'; error: string; status?: number | null };

/** What became of the notifications of one lane. */
export interface SendTally {
  sent: number;
  failed: number;
  deferred: number;
  cancelled: number;
}

/** Notifications of one transport's kind, sent side by side. */
export interface SendingLane {
  /** The next notification to send, or undefined when there are no more (for this call). */
  next(): Promise<NotificationJob | undefined>;
  /** Notifications readied at once. */
  concurrency: number;
  /** Notifications past their claim and not yet marked at once: what a crash may send twice (S33). */
  slots: number;
  /** The first wait after a refusal for now (stores/retry-policy.ts). */
  firstRetryWaitMs: number;
}

/**
 * The attempt that sends: who it is, what an earlier attempt left it, and how it tells the world
 * it is alive. Its retry, on any worker, is a new attempt that carries on from its heartbeats.
 */
export interface SendingAttempt {
  /** The attempt's fence over its workflow's sending, taken once for all it sends. */
  fence(): Promise<SendFence>;
  /** Notifications an earlier attempt had sent and left unmarked (from its last heartbeat). */
  carried: AcceptedNotification[];
  /** Reports the sent notifications not yet marked: called every 2 s and as the attempt ends. */
  heartbeat(unmarked: AcceptedNotification[]): void;
  /** Aborted when the worker shuts down: the attempt stops handing out notifications and fails, for its retry to send the rest. */
  stopping: AbortSignal;
}

export interface SendNotificationsOptions {
  attempt: SendingAttempt;
  store: DeliveryStore;
  lanes: SendingLane[];
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a receiver refusing for now is tried again. */
  retryLimitMs: number;
  /** The attempt's clock: retry times are written, and due times read, on it. */
  now: () => Date;
  /** How long to wait for the database to take the marks of sent notifications before failing the attempt. */
  markPatienceMs?: number;
  /** Told what became of each notification (for metrics). */
  observe?: (job: NotificationJob, outcome: keyof SendTally) => void;
}

const heartbeatEveryMs = 2_000;

/** Sends every lane until its `next()` runs out; answers each lane's tally; throws (after those in flight) on any failure that is not one receiver's. */
export async function sendNotifications(options: SendNotificationsOptions): Promise<SendTally[]> {
  const { attempt, store, retryLimitMs, now, markPatienceMs = 4 * 60_000 } = options;
  const fence = await attempt.fence();
  const unmarked: AcceptedNotification[] = [...attempt.carried];
  const beat = () => attempt.heartbeat(unmarked);
  beat();
  const timer = setInterval(beat, heartbeatEveryMs);
  // The first failure that is not one receiver's: once set, nothing more is handed out, in any lane.
  let halt: { error: unknown } | undefined;

  // A sent notification's mark rides on the next claim of its slot: one statement marks it sent
  // and claims the slot's next, so no more sent notifications are unmarked at once than the lane
  // has slots (the duplicate window of S33), and each costs at most one statement at full speed
  // (claims asked while a statement is on its way share the next: {@link claimsTogether}). What no
  // next claim marked (the last of each slot, or after a failure) is marked as the attempt ends,
  // and travels in the heartbeats until then.
  const marked = (accepted: AcceptedNotification[]) => {
    for (const one of accepted) unmarked.splice(unmarked.indexOf(one), 1);
  };

  const claims = claimsTogether(store, fence, now);

  const deliver = async (lane: SendingLane, slots: Slots, job: NotificationJob): Promise<keyof SendTally | undefined> => {
    let prepared: Prepared;
    try {
      prepared = await job.prepare();
    } catch (error) {
      // A database that cannot be read is an outage; anything else about this one notification is its own failure.
      if (!isDataError(error) && !(error instanceof EmailCompositionError)) throw error;
      await store.markFailed(job.id, `could not be composed: ${(error as Error).message}`);
      return 'failed';
    }
    if ('cancel' in prepared) {
      await store.markCancelled(job.id, prepared.cancel);
      return 'cancelled';
    }
    // From the fence's check until the mark is written, the notification holds one of the lane's slots.
    const slot = await slots.take();
    try {
      // While this sender waited for a slot, another may have stopped the attempt: its notification stays pending.
      if (halt) return undefined;
      // A claim is as old as the moment it was asked for: the process may stand still before it
      // reads the answer as well as after.
      let claimedAt = 0;
      const claim = async () => {
        claimedAt = Date.now();
        const accepted = slot.accepted.splice(0);
        let state: SendClaim;
        try {
          state = await claims.claim(job.id, accepted);
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
      // Handed to the receiver only while the claim is fresh; a process that stood still since (a
      // pause after which another attempt may have taken over) checks its claim again first.
      let answer: Delivered | undefined;
      while (!answer) {
        try {
          answer = await prepared.deliver(claimedAt + claimFreshMs);
        } catch (error) {
          if (error instanceof ClaimExpiredError) {
            if (!(await claim())) return undefined;
            continue;
          }
          await store.recordAttempt(job.id, String(error)).catch(() => undefined);
          throw error;
        }
      }
      if (answer.outcome === 'failed') {
        await store.markFailed(job.id, answer.error, { subject: prepared.subject, status: answer.status });
        return 'failed';
      }
      if (answer.outcome === 'retry') {
        const refused = { reason: answer.error, firstWaitMs: lane.firstRetryWaitMs, retryAfterMs: answer.retryAfterMs, status: answer.status };
        return store.defer(job.id, refused, now(), retryLimitMs);
      }
      const accepted: AcceptedNotification = {
        deliveryId: job.id,
        sentAt: now().toISOString(),
        ...(answer.messageId !== undefined && { messageId: answer.messageId }),
        ...(prepared.subject !== undefined && { subject: prepared.subject }),
        ...(answer.status !== undefined && { status: answer.status }),
      };
      unmarked.push(accepted);
      slot.accepted.push(accepted);
      return 'sent';
    } finally {
      slots.give(slot);
    }
  };

  const runLane = async (lane: SendingLane): Promise<SendTally> => {
    const tally: SendTally = { sent: 0, failed: 0, deferred: 0, cancelled: 0 };
    const slots = sendingSlots(lane.slots);
    const worker = async () => {
      while (!halt) {
        // A worker shutting down aborts the attempt: stop here and fail it (retryable), so the
        // retry, on this worker or another, sends the rest at once instead of after a timeout.
        if (attempt.stopping.aborted) {
          halt = { error: new SendingStoppedError() };
          return;
        }
        try {
          const job = await lane.next();
          if (!job || halt) return;
          const outcome = await deliver(lane, slots, job);
          if (outcome) {
            tally[outcome] += 1;
            options.observe?.(job, outcome);
          }
        } catch (error) {
          halt ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: lane.concurrency }, worker));
    return tally;
  };

  let tallies: SendTally[];
  try {
    await markThroughOutage(store, unmarked, beat, markPatienceMs);
    tallies = await Promise.all(options.lanes.map(runLane));
    // Sent notifications whose marks failed: written before this attempt ends, however long the database takes.
    await markThroughOutage(store, unmarked, beat, markPatienceMs);
  } finally {
    clearInterval(timer);
    beat();
  }
  if (halt) throw halt.error;
  return tallies;
}

/**
 * Marks the sent notifications in `unmarked`, retrying while the database is unreachable, up to
 * `patienceMs`; then fails, leaving them in the heartbeat details for the next attempt.
 */
async function markThroughOutage(store: DeliveryStore, unmarked: AcceptedNotification[], beat: () => void, patienceMs: number): Promise<void> {
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

/**
 * Claims as one statement each, or fewer: a claim asked while another statement is on its way
 * waits for it, and goes with every other claim asked meanwhile in the next (with their slots'
 * marks). Each is still checked against the fence, and its slot's last notification marked,
 * before its notification is handed over; at full speed about two claims share a statement.
 */
export function claimsTogether(store: Pick<DeliveryStore, 'claimForSending'>, fence: SendFence, now: () => Date) {
  type Asked = { id: number; accepted: AcceptedNotification[]; answer: (found: 'fenced' | Set<number> | { error: unknown }) => void };
  let asked: Asked[] = [];
  let asking = false;
  const ask = async () => {
    if (asking || asked.length === 0) return;
    asking = true;
    const together = asked;
    asked = [];
    let found: 'fenced' | Set<number> | { error: unknown };
    try {
      found = await store.claimForSending(together.map((a) => a.id), fence, together.flatMap((a) => a.accepted), now());
    } catch (error) {
      found = { error };
    }
    for (const one of together) one.answer(found);
    asking = false;
    void ask();
  };
  return {
    /** Claims `id`, marking `accepted` sent in the same statement; rejects (nothing marked) when the statement fails. */
    claim(id: number, accepted: AcceptedNotification[]): Promise<SendClaim> {
      return new Promise((resolve, reject) => {
        asked.push({
          id,
          accepted,
          answer: (found) => {
            if (found === 'fenced') resolve('fenced');
            else if (found instanceof Set) resolve(found.has(id) ? 'claimed' : 'done');
            else reject(found.error);
          },
        });
        void ask();
      });
    },
  };
}

/** One of a lane's slots, with what it sent whose mark waits for its next claim. */
interface SendingSlot {
  accepted: AcceptedNotification[];
}

type Slots = ReturnType<typeof sendingSlots>;

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
