/** Activities of the environment digest: fixing a cycle, sending its emails exactly once, closing it, retrying the deferred. */
import type { Knex } from 'knex';
import { createDigestStore, type CompletedCycle, type FixedCycle, type PendingDelivery } from '../stores/digest-store.js';
import { createDeliveryStore } from '../stores/delivery-store.js';
import { createConnectionStore } from '../stores/connection-store.js';
import type { DeliveryJob } from '../email/email-job.js';
import { digestComposer } from '../email/digest-composer.js';
import { installationId } from '../stores/installation.js';
import { activityClock, notificationSender, oneByOne, type SendingDeps } from './sending.js';
import type { SendTally } from '../notifications/send.js';
import { unsubscribeLinks } from '../email/unsubscribe.js';
import { emailActionLinks } from '../email/email-actions.js';
import { createReminderStore } from '../stores/reminder-store.js';
import { emailJobs, singleEmailKinds } from '../notifications/kinds.js';
import { reminderEmails } from '../notifications/kinds/reminder.js';
import { weeklyEmails } from '../notifications/kinds/weekly.js';
import { createWeeklyReviewStore } from '../stores/weekly-review-store.js';
import { earliest } from '../stores/rhythm.js';

export interface DigestActivityDeps extends SendingDeps {
  db: Knex;
  /** HERALD_DIGEST_INTERVAL, in milliseconds. */
  digestIntervalMs: number;
  /** Deliveries read from the database at once. */
  digestPageSize?: number;
  /** How long one activity call goes on sending before it returns (the workflow calls again while some remain). */
  sendBatchMs?: number;
  /** Emails sent at once within a batch. */
  sendConcurrency?: number;
}

export interface DigestBatchResult extends SendTally {
  /** Deliveries of the cycle still waiting for their first attempt. */
  remaining: number;
  /** The cycle's channel messages this batch posted (S43). */
  channels?: SendTally;
}

/**
 * A cycle fixed, with the HERALD_DIGEST_INTERVAL of the worker that fixed it, which the digest
 * follows unless an operator chose its interval (absent in histories recorded before it was reported).
 */
export interface FixedDigestCycle extends FixedCycle {
  workersIntervalMs?: number;
  /** The cycle, completed by the fix itself: it had nothing to send (asked for with `completeWhenEmpty`). */
  completed?: CompletedDigestCycle;
}

/** A cycle's first pass done, and when the environment's next deferred delivery is due (ISO), if any. */
export interface CompletedDigestCycle extends CompletedCycle {
  nextRetryAt: string | null;
}

/** What one round of deferred deliveries did, and when the next is due (ISO), if any. */
export interface DeferredRoundResult extends SendTally {
  nextRetryAt: string | null;
}

export function createDigestActivities(deps: DigestActivityDeps) {
  const { db, appUrl, digestPageSize = 500, sendBatchMs = 60_000, sendConcurrency = 20 } = deps;
  const unsubscribe = unsubscribeLinks(appUrl, deps.secret);
  const actions = emailActionLinks(appUrl, deps.secret);
  const store = createDigestStore(db);
  const deliveries = createDeliveryStore(db);
  const connections = createConnectionStore(db);
  const reminders = createReminderStore(db);
  const weeklyReviews = createWeeklyReviewStore(db);
  const sender = notificationSender(deps);
  /** When the environment's next deferred notification (an email or a channel message) is due. */
  const nextRetryAt = async (environment: string) => (await deliveries.nextRetryAt(environment))?.toISOString() ?? null;
  /** Marks a cycle's first pass done: its outcome, and when the environment's next deferred delivery is due. */
  const complete = async (cycleId: number, environment: string): Promise<CompletedDigestCycle> => ({
    ...(await store.completeCycle(cycleId)),
    nextRetryAt: await nextRetryAt(environment),
  });

  return {
    /** The digest interval this worker is configured with. */
    async digestInterval(): Promise<number> {
      return deps.digestIntervalMs;
    },

    async lastDigestCycle(environment: string): Promise<number> {
      return store.lastCycleNumber(environment);
    },

    /**
     * Fixes the content of cycle `number` once (S7, S9–S11, S16, S17); tells the digest this
     * worker's HERALD_DIGEST_INTERVAL, which it follows unless an operator chose its interval.
     * With `completeWhenEmpty`, a cycle with no email to send is completed here too: a quiet
     * cycle costs the digest one activity. `at` is the cycle's time by the digest's clock (ISO),
     * against which each person's rhythm is read (S41); without it (older digests), now.
     */
    async fixDigestCycle(environment: string, number: number, options: { completeWhenEmpty?: boolean; at?: string } = {}): Promise<FixedDigestCycle> {
      const fixed = await store.fixCycle(environment, number, options.at === undefined ? undefined : new Date(options.at));
      const completed = options.completeWhenEmpty && fixed.deliveryCount === 0 && fixed.channelMessageCount === 0 ? await complete(fixed.cycleId, environment) : undefined;
      return { ...fixed, workersIntervalMs: deps.digestIntervalMs, ...(completed && { completed }) };
    },

    /**
     * Sends the cycle's pending digests for up to `sendBatchMs`, then returns for the workflow to
     * call again while some remain. Deliveries are read a page at a time, the next page while the
     * current one is being sent. See notifications/send.ts for what happens to each (S12, S33, S34, S38).
     */
    async sendDigestBatch(cycleId: number): Promise<DigestBatchResult> {
      const composer = digestComposer(store, await store.cycleContext(cycleId), appUrl, await installationId(db), unsubscribe, actions);
      const deadline = performance.now() + sendBatchMs;
      const queue: PendingDelivery[] = [];
      let lastId = 0;
      let exhausted = false;
      let loading: Promise<void> | undefined;
      let loadFailure: { error: unknown } | undefined;
      const loadPage = async () => {
        const page = await store.pendingDeliveries(cycleId, digestPageSize, lastId);
        await composer.prepare(page);
        queue.push(...page);
        lastId = page.at(-1)?.id ?? lastId;
        exhausted = page.length < digestPageSize;
      };
      /** The next delivery to send; a page is read ahead while the queue runs low. */
      const next = async (): Promise<DeliveryJob | undefined> => {
        for (;;) {
          if (loadFailure) throw loadFailure.error;
          if (!loading && !exhausted && queue.length <= sendConcurrency && performance.now() < deadline) {
            loading = loadPage()
              .catch((error: unknown) => {
                loadFailure ??= { error };
              })
              .finally(() => (loading = undefined));
          }
          const delivery = queue.shift();
          if (delivery) return composer.job(delivery);
          if (!loading) return undefined;
          await loading;
        }
      };
      // The cycle's channel messages go beside its emails: neither waits for the other (S43).
      const sent = await sender.send({ next, concurrency: sendConcurrency }, await sender.firstPosts({ cycle_id: cycleId }));
      return { ...sent.emails, remaining: await store.countPending(cycleId), channels: sent.posts };
    },

    /** Closes the cycle's first pass; recipients refused for now wait for {@link sendDueDeliveries}. */
    async completeDigestCycle(cycleId: number): Promise<CompletedDigestCycle> {
      return complete(cycleId, (await store.cycleContext(cycleId)).environment.id);
    },

    /**
     * The look for what is due between cycles: reminds the users of an environment of errors open
     * longer than its threshold (S31) — plans, at the digest workflow's time, one reminder per user
     * not reminded in the last day — and plans the weekly reviews whose time has come (S47); sends
     * both. A retry plans nothing twice and sends nothing twice. (Named for its first kind: the
     * workflow's histories call it so.)
     */
    async sendReminders(environment: string, now: string): Promise<SendTally & { planned: number; weekly?: SendTally & { planned: number }; nextRetryAt: string | null; nextLookAt?: string | null }> {
      const at = new Date(now);
      const planned = await reminders.planReminders(environment, at);
      const weekly = await weeklyReviews.plan(environment, at);
      const links = { appUrl, installation: await installationId(db), unsubscribe, actions };
      const reminderJobs = (await reminders.pendingEmails({ environment })).map((email) => reminderEmails.job(email, links));
      const tally = (await sender.send(oneByOne(reminderJobs, sendConcurrency), await sender.firstPosts({ environment_id: environment, kind: 'reminder' }))).emails;
      // Then the weekly reviews, told apart in the answer (one sending at a time holds the attempt's fence).
      const weeklyJobs = (await weeklyReviews.pendingEmails({ environment })).map((email) => weeklyEmails.job(email, links));
      const weeklyTally = (await sender.send(oneByOne(weeklyJobs, sendConcurrency))).emails;
      // Reminders refused for now or held by quiet hours are tried by the digest when due: it learns when here, not at a fix (#40).
      const nextLook = earliest([await reminders.nextLook(environment, at), weekly.nextLook].filter((t): t is Date => t !== null));
      return { ...tally, planned, weekly: { ...weeklyTally, planned: weekly.planned }, nextRetryAt: await nextRetryAt(environment), nextLookAt: nextLook?.toISOString() ?? null };
    },

    /**
     * Tries again the environment's deferred deliveries that are due, digests and connection
     * emails alike (S34): each is sent, deferred again with a longer wait, or failed once the retry
     * limit has passed. Emails held by quiet hours are due when those end (S49); a held connection
     * email whose news no longer stands is dropped then.
     */
    async sendDueDeliveries(environment: string): Promise<DeferredRoundResult> {
      const clock = activityClock();
      const installation = await installationId(db);
      const due = await deliveries.dueDeferred(environment, clock(), 1_000);
      // Posts go side by side, a hundred at most a round; the rest are still due at the next.
      const posts = due.filter((d) => d.toChannel).map((d) => d.id).slice(0, 100);
      const emails = due.filter((d) => !d.toChannel);
      const jobs: DeliveryJob[] = [];
      const digests = await store.deliveriesByIds(emails.filter((d) => d.kind === 'digest').map((d) => d.id));
      for (const cycleId of new Set(digests.map((d) => d.cycleId))) {
        const ofCycle = digests.filter((d) => d.cycleId === cycleId);
        const composer = digestComposer(store, await store.cycleContext(cycleId), appUrl, installation, unsubscribe, actions);
        await composer.prepare(ofCycle);
        jobs.push(...ofCycle.map((d) => composer.job(d)));
      }
      // A held connection email whose news no longer stands is dropped, not sent (S49).
      const dropped = new Set(await connections.dropStaleHeld(emails.filter((d) => d.kind === 'connection').map((d) => d.id)));
      const links = { appUrl, installation, unsubscribe, actions };
      for (const kind of singleEmailKinds) {
        jobs.push(...(await emailJobs(db, kind, { deliveryIds: emails.filter((d) => d.kind === kind && !dropped.has(d.id)).map((d) => d.id) }, links)));
      }
      const sent = await sender.send(oneByOne(jobs, sendConcurrency), posts, clock);
      return { ...sent.emails, nextRetryAt: await nextRetryAt(environment) };
    },
  };
}

export type DigestActivities = ReturnType<typeof createDigestActivities>;
