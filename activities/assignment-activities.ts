/** Activities of assignment (S32): recording an assignment action, and emailing the assignee once. */
import type { Knex } from 'knex';
import { tellOfLaterDeliveries, type TellDigest } from '../stores/digest-news.js';
import { checkAssignRequest, type AssignRequest } from '../contracts/error-report.js';
import { inputFailure } from '../contracts/input-failure.js';
import { createAssignmentStore } from '../stores/assignment-store.js';
import { installationId } from '../stores/installation.js';
import type { SendTally } from '../notifications/send.js';
import { emailActionLinks } from '../email/email-actions.js';
import { assignmentEmailJob } from '../email/assignment-email.js';
import { activityClock, notificationSender, oneByOne, type SendingDeps } from './sending.js';

export interface AssignmentActivityDeps extends SendingDeps {
  /** Told of emails and messages left for later: the digest tries them (#40). */
  tellDigest: TellDigest;
  db: Knex;
}

export function createAssignmentActivities(deps: AssignmentActivityDeps) {
  const { db, appUrl } = deps;
  const store = createAssignmentStore(db);
  const sender = notificationSender(deps);
  const actions = emailActionLinks(appUrl, deps.secret);
  return {
    /** Records an assignment action and plans the assignee's email (held in their quiet hours); refuses bad input by name. */
    async recordAssignment(request: AssignRequest & { requestId: string }): Promise<{ eventId: number; assigned: number[] }> {
      const problems = checkAssignRequest(request);
      if (problems.length > 0) throw inputFailure(problems);
      return store.assign(request, activityClock()());
    },

    /** Emails the assignee of an action, once: a retry finds the email sent and sends nothing; and posts to their channel beside it (S43). */
    async sendAssignmentEmails(eventId: number): Promise<SendTally> {
      const installation = await installationId(db);
      const queue = (await store.pendingEmails({ eventId })).map((email) => assignmentEmailJob(email, appUrl, installation, actions));
      const tally = (await sender.send(oneByOne(queue, 1), await sender.firstPosts({ assignment_event_id: eventId }))).emails;
      // What waits for later is the digest's to try: its next cycle learns when (#40).
      await tellOfLaterDeliveries(db, deps.tellDigest, { assignment_event_id: eventId });
      return tally;
    },
  };
}

export type AssignmentActivities = ReturnType<typeof createAssignmentActivities>;
