/**
 * An email as it was sent (S27): composed again from what its digest cycle, connection change,
 * assignment, reminder or weekly review fixed, for the person it went to, with its unsubscribe link.
 */
import type { Knex } from 'knex';
import type { DeliveryKind } from '../stores/delivery-store.js';
import { createDigestStore } from '../stores/digest-store.js';
import { composeDigest, recipientsOwn } from '../email/digest-composer.js';
import { emailActionLinks } from '../email/email-actions.js';
import { digestDetailLimit } from '../email/digest-email.js';
import { unsubscribeLinks } from '../email/unsubscribe.js';
import { emailJobs } from './kinds.js';

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
  const actions = emailActionLinks(appUrl, secret);
  if (email.kind !== 'digest') {
    const [job] = await emailJobs(db, email.kind, { deliveryIds: [email.id], anyStatus: true }, { appUrl, installation: '', unsubscribe, actions });
    return job!.compose();
  }
  const digests = createDigestStore(db);
  const [pending] = await digests.deliveriesByIds([email.id], true);
  const context = await digests.cycleContext(email.cycleId!);
  // Over the person's range of cycles (S41), as it was sent, not its last cycle alone.
  const newByFlow = await digests.newErrorsByFlow(context.cycleId, pending!.flowIds, digestDetailLimit, pending!.sinceCycleId);
  const folded = await digests.foldedByFlow(context.cycleId, pending!.sinceCycleId);
  const { subject, rendered } = await composeDigest(digests, context, pending!, newByFlow, folded, appUrl);
  return recipientsOwn({ subject, ...rendered }, { unsubscribe, actions }, context, pending!, appUrl);
}
