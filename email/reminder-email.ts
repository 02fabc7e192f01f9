/** The daily reminder of errors still open (S31), to one user of one environment. */
import type { ReminderEmailContext } from '../stores/reminder-store.js';
import { renderEmail } from './render.js';
import { messageText, messageTextLimits, thresholdText } from '../contracts/message-text.js';
import { emailFrame, emailTime, heraldMessageId } from './email-frame.js';
import type { DeliveryJob } from './email-job.js';
import { unsubscribePlaceholder, withUnsubscribe, type UnsubscribeLinks } from './unsubscribe.js';
import { rowActions, type EmailActionLinks } from './email-actions.js';

export function reminderEmailJob(email: ReminderEmailContext, appUrl: string, installation: string, unsubscribe: UnsubscribeLinks, actions: EmailActionLinks): DeliveryJob {
  return {
    kind: 'reminder',
    deliveryId: email.deliveryId,
    recipient: email.recipient,
    messageId: heraldMessageId('reminder', email.publicId, email.deliveryId, email.userId, installation),
    wanted: true,
    async compose() {
      const frame = emailFrame(appUrl, email.environment, email.account);
      const subject = `${frame.subjectPrefix}${email.count} error${email.count === 1 ? '' : 's'} still open in ${frame.account.name} flows`;
      const rendered = await renderEmail('reminder', {
        subject,
        count: email.count,
        one: email.count === 1,
        threshold: thresholdText(email.thresholdMs),
        account: frame.account,
        environment: frame.environment,
        errors: email.errors.map((error) => ({
          ...frame.error(error),
          assignee: error.assignee ? messageText(error.assignee, messageTextLimits.name) : '',
          reported: emailTime(error.reportedAt),
          actions: rowActions(email.canAct === true, 'error', error.id),
        })),
        more: Math.max(0, email.count - email.errors.length),
        links: { openErrors: frame.link('errors?status=open&mine=1'), settings: frame.link('notifications'), unsubscribe: unsubscribePlaceholder },
        unsubscribeWhat: `error emails of ${frame.environment.name}`,
      });
      const own = withUnsubscribe({ subject, ...rendered }, unsubscribe, { userId: email.userId, environment: email.environment.id, scope: { kind: 'errors' } });
      return actions.own(own, { userId: email.userId, emailId: email.publicId }, frame.link('errors?status=open&mine=1'));
    },
  };
}
