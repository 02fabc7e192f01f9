/** Activities of assignment (S32): recording an assignment action, and emailing the assignee once. */
import type { Knex } from 'knex';
import { tellOfLaterDeliveries, type TellDigest } from '../stores/digest-news.js';
import { checkAssignRequest, type AssignRequest } from '../contracts/error-report.js';
import { inputFailure } from '../contracts/input-failure.js';
import { createAssignmentStore } from '../stores/assignment-store.js';
import { createDeliveryStore } from '../stores/delivery-store.js';
import { installationId } from '../stores/installation.js';
import type { Mailer } from '../email/mailer.js';
import type { DeliveryTally } from '../email/send-deliveries.js';
import { emailActionLinks } from '../email/email-actions.js';
import { assignmentEmailJob } from '../email/assignment-email.js';
import { activityClock, sendInThisAttempt } from './sending.js';
import { channelPoster, type ChannelPostingDeps } from './channel-posting.js';

export interface AssignmentActivityDeps extends ChannelPostingDeps {
  /** Told of emails and messages left for later: the digest tries them (#40). */
  tellDigest: TellDigest;
  db: Knex;
  mailer: Mailer;
  appUrl: string;
  /** HERALD_SECRET: signs the action links of the email (S45). */
  secret: string;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a recipient refused for now is tried again. */
  deliveryRetryLimitMs: number;
}

export function createAssignmentActivities(deps: AssignmentActivityDeps) {
  const { db, mailer, appUrl, deliveryRetryLimitMs } = deps;
  const store = createAssignmentStore(db);
  const channels = channelPoster(deps);
  const actions = emailActionLinks(appUrl, deps.secret);
  return {
    /** Records an assignment action and plans the assignee's email (held in their quiet hours); refuses bad input by name. */
    async recordAssignment(request: AssignRequest & { requestId: string }): Promise<{ eventId: number; assigned: number[] }> {
      const problems = checkAssignRequest(request);
      if (problems.length > 0) throw inputFailure(problems);
      return store.assign(request, activityClock()());
    },

    /** Emails the assignee of an action, once: a retry finds the email sent and sends nothing; and posts to their channel beside it (S43). */
    async sendAssignmentEmails(eventId: number): Promise<DeliveryTally> {
      const installation = await installationId(db);
      const queue = (await store.pendingEmails({ eventId })).map((email) => assignmentEmailJob(email, appUrl, installation, actions));
            const [tally] = await Promise.all([
        sendInThisAttempt({ mailer, store: createDeliveryStore(db), next: async () => queue.shift(), concurrency: 1, retryLimitMs: deliveryRetryLimitMs }),
        channels.firstAttempts({ assignment_event_id: eventId }),
      ]);
      // What waits for later is the digest's to try: its next cycle learns when (#40).
      await tellOfLaterDeliveries(db, deps.tellDigest, { assignment_event_id: eventId });
      return tally;
    },
  };
}

export type AssignmentActivities = ReturnType<typeof createAssignmentActivities>;
