/**
 * One planned email, as each kind's composer makes it: whom it goes to, the Message-ID it
 * carries, and how its content is made. notifications/email-transport.ts sends it as every
 * notification is sent (notifications/send.ts).
 */
import type { DeliveryKind } from '../stores/delivery-store.js';
import type { OutgoingEmail } from './mailer.js';

export interface DeliveryJob {
  kind: DeliveryKind;
  deliveryId: number;
  recipient: string;
  messageId: string;
  /** False when the user left the account or unsubscribed since the email was planned (S38). */
  wanted: boolean;
  compose(): Promise<Omit<OutgoingEmail, 'to' | 'messageId'>>;
}

/**
 * Thrown while composing one email when its content cannot be made into an email (a template
 * that fails on its data): that delivery is failed with the reason, and the others go on.
 */
export class EmailCompositionError extends Error {
  override readonly name = 'EmailCompositionError';
}
