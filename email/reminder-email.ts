/** The daily reminder of errors still open (S31), to one user of one environment. */
import type { ReminderEmailContext } from '../stores/reminder-store.js';
import { renderEmail } from './render.js';
import { emailText, emailTextLimits } from './text.js';
import { emailFrame, emailTime, heraldMessageId } from './email-frame.js';
import type { DeliveryJob } from './send-deliveries.js';
import { unsubscribePlaceholder, withUnsubscribe, type UnsubscribeLinks } from './unsubscribe.js';

export function reminderEmailJob(email: ReminderEmailContext, appUrl: string, installation: string, unsubscribe: UnsubscribeLinks): DeliveryJob {
  return {
    deliveryId: email.deliveryId,
    recipient: email.recipient,
    messageId: heraldMessageId('reminder', email.deliveryId, email.userId, installation),
    wanted: true,
    async compose() {
      const frame = emailFrame(appUrl, email.environment, email.account);
      const subject = `${frame.subjectPrefix}${email.count} error${email.count === 1 ? '' : 's'} still open in ${frame.account.name} flows`;
      const hours = Math.round(email.thresholdMs / 3_600_000);
      const rendered = await renderEmail('reminder', {
        subject,
        count: email.count,
        one: email.count === 1,
        threshold: hours % 24 === 0 ? `${hours / 24} day${hours === 24 ? '' : 's'}` : `${hours} hours`,
        account: frame.account,
        environment: frame.environment,
        errors: email.errors.map((error) => ({
          ...frame.error(error),
          assignee: error.assignee ? emailText(error.assignee, emailTextLimits.name) : '',
          reported: emailTime(error.reportedAt),
        })),
        more: Math.max(0, email.count - email.errors.length),
        links: { openErrors: frame.link('errors?status=open&mine=1'), settings: frame.link('notifications'), unsubscribe: unsubscribePlaceholder },
        unsubscribeWhat: `error emails of ${frame.environment.name}`,
      });
      return withUnsubscribe({ subject, ...rendered }, unsubscribe, { userId: email.userId, environment: email.environment.id, scope: { kind: 'errors' } });
    },
  };
}
