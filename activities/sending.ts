/**
 * Sending from inside a Temporal activity: notifications/send.ts does the sending, emails and
 * channel posts in one loop; this says which attempt it is (its fence, what an earlier attempt
 * left unmarked, its heartbeats, a worker shutting down), what time it is, and what it counts.
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { createDeliveryStore, type AcceptedNotification, type DeliveryStore, type SendFence } from '../stores/delivery-store.js';
import { createChannelStore } from '../stores/channel-store.js';
import type { Mailer } from '../email/mailer.js';
import type { DeliveryJob } from '../email/email-job.js';
import type { ChannelAgents } from '../channels/post.js';
import { sendNotifications, type SendingAttempt, type SendTally } from '../notifications/send.js';
import { emailLane } from '../notifications/email-transport.js';
import { postLane } from '../notifications/post-messages.js';
import { notificationMetrics, smtpRefusalMetrics } from './metrics.js';

/** What sending needs, for every activity that sends. */
export interface SendingDeps {
  db: Knex;
  mailer: Mailer;
  appUrl: string;
  /** HERALD_SECRET: signs the links people act by from an email or a message (S45). */
  secret: string;
  /** The HTTP agents channel messages are posted with, which refuse addresses HERALD_CHANNEL_ALLOW does not allow. */
  channelAgents: ChannelAgents;
  /** How long a channel has to answer one message (default 10 s). */
  channelTimeoutMs?: number;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a receiver refusing for now is tried again. */
  deliveryRetryLimitMs: number;
}

/** What one sending did: its emails, and its posts to channels. */
export interface SentTallies {
  emails: SendTally;
  posts: SendTally;
}

/** The heartbeat details of a send attempt: the sent notifications whose marks are not yet written. */
interface SendProgress {
  unmarked: AcceptedNotification[];
}

const fencesOfAttempts = new WeakMap<Context, Promise<SendFence>>();

/**
 * The fence of the current activity attempt (S44), taken once however many sendings the attempt
 * runs, so that none takes it from another.
 */
function attemptFence(store: Pick<DeliveryStore, 'takeFence'>): Promise<SendFence> {
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

/** Sends emails and channel posts in the current activity attempt. */
export function notificationSender(deps: SendingDeps) {
  const deliveries = createDeliveryStore(deps.db);
  const channels = createChannelStore(deps.db);
  const sending = { db: deps.db, appUrl: deps.appUrl, secret: deps.secret, agents: deps.channelAgents, timeoutMs: deps.channelTimeoutMs };
  return {
    /**
     * Sends the emails `next` gives (`concurrency` composed at once) and posts the messages
     * `posts`, side by side under the attempt's fence, on its clock unless `now` is given: neither
     * waits for the other (S43).
     */
    async send(emails: { next: () => Promise<DeliveryJob | undefined>; concurrency: number }, posts: number[] = [], now = activityClock()): Promise<SentTallies> {
      const lanes = [emailLane(emails.next, deps.mailer, emails.concurrency, smtpRefusalMetrics()), postLane(posts, sending)];
      const [emailed, posted] = await sendNotifications({
        attempt: currentSendingAttempt(deliveries),
        store: deliveries,
        lanes,
        retryLimitMs: deps.deliveryRetryLimitMs,
        now,
        observe: notificationMetrics(),
      });
      return { emails: emailed!, posts: posted! };
    },
    /** The messages of a cycle, a connection change, an assignment or an environment's reminders waiting for their first attempt. */
    firstPosts: channels.firstAttempts,
  };
}

/** Email jobs one after another, as a sending takes them. */
export const oneByOne = (jobs: DeliveryJob[], concurrency: number) => ({ next: async () => jobs.shift(), concurrency });

/**
 * The clock of an activity: the Temporal server's time when this attempt was scheduled, moved on
 * by the time the attempt has run. Retry times of deferred notifications are written and compared
 * on it, so they agree with the workflow timers that wake for them, whatever the worker's own clock
 * says (and under the test server's skipped time).
 */
export function activityClock(): () => Date {
  const base = Context.current().info.currentAttemptScheduledTimestampMs;
  const start = performance.now();
  return () => new Date(base + (performance.now() - start));
}
