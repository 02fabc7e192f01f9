import type { DigestStore } from '../db/digest-store.js';
import { RecipientRefusedError, type Mailer, type OutgoingEmail } from './mailer.js';

/**
 * Sends one delivery's email and records the outcome: `sent` once SMTP accepted it, `failed`
 * when the recipient is refused for good. A transient failure is recorded as an attempt and
 * thrown, for the activity to be retried; the delivery stays pending.
 */
export async function deliver(
  mailer: Mailer,
  store: Pick<DigestStore, 'markSent' | 'markFailed' | 'recordAttempt'>,
  deliveryId: number,
  email: OutgoingEmail,
): Promise<'sent' | 'failed'> {
  try {
    await mailer.send(email);
  } catch (error) {
    if (error instanceof RecipientRefusedError) {
      await store.markFailed(deliveryId, error.message);
      return 'failed';
    }
    await store.recordAttempt(deliveryId, String(error));
    throw error;
  }
  await store.markSent(deliveryId, email.messageId);
  return 'sent';
}
