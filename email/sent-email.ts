/**
 * An email as it was sent (S27): composed again from what its digest cycle, connection change,
 * assignment, reminder or weekly review fixed, for the person it went to, with its unsubscribe link.
 */
import type { Knex } from 'knex';
import type { DeliveryKind } from '../stores/delivery-store.js';
import { createDigestStore } from '../stores/digest-store.js';
import { createReminderStore } from '../stores/reminder-store.js';
import { createAssignmentStore } from '../stores/assignment-store.js';
import { createConnectionStore } from '../stores/connection-store.js';
import { createWeeklyReviewStore } from '../stores/weekly-review-store.js';
import { composeDigest, recipientsOwn } from './digest-composer.js';
import { emailActionLinks } from './email-actions.js';
import { digestDetailLimit } from './digest-email.js';
import { reminderEmailJob } from './reminder-email.js';
import { assignmentEmailJob } from './assignment-email.js';
import { connectionEmailJob } from './connection-email.js';
import { weeklyReviewEmailJob } from './weekly-review-email.js';
import { unsubscribeLinks } from './unsubscribe.js';

export interface SentEmail {
  id: number;
  kind: DeliveryKind;
  /** The digest cycle of a digest. */
  cycleId: number | null;
  userId: number;
}

/** The HTML of one email, as its recipient got it. */
export async function composeSentEmail(db: Knex, email: SentEmail, appUrl: string, secret: string): Promise<{ html: string }> {
  const unsubscribe = unsubscribeLinks(appUrl, secret);
  const again = { deliveryIds: [email.id], anyStatus: true };
  switch (email.kind) {
    case 'digest': {
      const digests = createDigestStore(db);
      const [pending] = await digests.deliveriesByIds([email.id], true);
      const context = await digests.cycleContext(email.cycleId!);
      // Over the person's range of cycles (S41), as it was sent, not its last cycle alone.
      const newByFlow = await digests.newErrorsByFlow(context.cycleId, pending!.flowIds, digestDetailLimit, pending!.sinceCycleId);
      const folded = await digests.foldedByFlow(context.cycleId, pending!.sinceCycleId);
      const { subject, rendered } = await composeDigest(digests, context, pending!, newByFlow, folded, appUrl);
      return recipientsOwn({ subject, ...rendered }, { unsubscribe, actions: emailActionLinks(appUrl, secret) }, context, pending!, appUrl);
    }
    case 'reminder': {
      const [context] = await createReminderStore(db).pendingEmails(again);
      return reminderEmailJob(context!, appUrl, '', unsubscribe, emailActionLinks(appUrl, secret)).compose();
    }
    case 'assignment': {
      const [context] = await createAssignmentStore(db).pendingEmails(again);
      return assignmentEmailJob(context!, appUrl, '', emailActionLinks(appUrl, secret)).compose();
    }
    case 'connection': {
      const [context] = await createConnectionStore(db).pendingEmails(again);
      return connectionEmailJob(context!, appUrl, '', unsubscribe).compose();
    }
    case 'weekly': {
      const [context] = await createWeeklyReviewStore(db).pendingEmails(again);
      return weeklyReviewEmailJob(context!, appUrl, '', unsubscribe).compose();
    }
  }
}
