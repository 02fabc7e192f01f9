/**
 * Email as a transport (S12, S34, S49): an email job (email/email-job.ts, made by its kind) readied
 * by composing it, delivered by handing it to SMTP, and the server's answer read as every
 * transport's is: taken, refused for now, refused for good.
 */
import type { DeliveryKind } from '../stores/delivery-store.js';
import type { DeliveryJob } from '../email/email-job.js';
import { RecipientRefusedError, type Mailer } from '../email/mailer.js';
import type { NotificationJob, SendingLane } from './send.js';
import { firstRetryWaitMs } from '../stores/retry-policy.js';

/** Hears each refusal by the SMTP server, by the email's kind (for metrics). */
export type RefusalObserver = (kind: DeliveryKind, refusal: RecipientRefusedError) => void;

/** An email job as a notification the sending loop sends through `mailer`. */
export function emailNotification(job: DeliveryJob, mailer: Mailer, refused?: RefusalObserver): NotificationJob {
  return {
    id: job.deliveryId,
    kind: job.kind,
    transport: 'email',
    async prepare() {
      if (!job.wanted) return { cancel: 'not sent: the user left the account or unsubscribed after the email was planned' };
      const composed = await job.compose();
      return {
        subject: composed.subject,
        async deliver(notAfter) {
          try {
            await mailer.send({ ...composed, to: job.recipient, messageId: job.messageId, notAfter });
            return { outcome: 'sent', messageId: job.messageId };
          } catch (error) {
            if (!(error instanceof RecipientRefusedError)) throw error;
            refused?.(job.kind, error);
            return { outcome: error.permanent ? 'failed' : 'retry', error: error.message };
          }
        },
      };
    },
  };
}

/** The lane of these email jobs: as many in flight as the mailer has connections (S33). */
export function emailLane(next: () => Promise<DeliveryJob | undefined>, mailer: Mailer, concurrency: number, refused?: RefusalObserver): SendingLane {
  return {
    next: async () => {
      const job = await next();
      return job && emailNotification(job, mailer, refused);
    },
    concurrency,
    slots: mailer.connections,
    firstRetryWaitMs: firstRetryWaitMs.email,
  };
}
