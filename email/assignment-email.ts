/** The email of an assignment (S32): to the assignee, at once, whatever their subscriptions. */
import type { AssignmentEmailContext } from '../stores/assignment-store.js';
import { renderEmail } from './render.js';
import { messageText, messageTextLimits } from '../contracts/message-text.js';
import { emailFrame, heraldMessageId } from './email-frame.js';
import type { DeliveryJob } from './email-job.js';
import { rowActions, type EmailActionLinks } from './email-actions.js';

export function assignmentEmailJob(email: AssignmentEmailContext, appUrl: string, installation: string, actions: EmailActionLinks): DeliveryJob {
  return {
    kind: 'assignment',
    deliveryId: email.deliveryId,
    recipient: email.recipient,
    messageId: heraldMessageId('assignment', email.publicId, email.deliveryId, email.userId, installation),
    wanted: true,
    async compose() {
      const frame = emailFrame(appUrl, email.environment, email.account);
      const count = email.errors.length;
      const assignedBy = messageText(email.assignedBy, messageTextLimits.name);
      const subject = `${frame.subjectPrefix}${assignedBy} assigned you ${count} error${count === 1 ? '' : 's'} in ${frame.account.name} flows`;
      const rendered = await renderEmail('assignment', {
        subject,
        assignedBy,
        count,
        one: count === 1,
        account: frame.account,
        environment: frame.environment,
        // What was assigned to them they may resolve or snooze from here (S45); it is theirs already.
        errors: email.errors.map((error) => ({ ...frame.error(error), actions: rowActions(email.canAct === true, 'error', error.id, ['resolve', 'snooze']) })),
        links: { settings: frame.link('notifications') },
      });
      return actions.own({ subject, ...rendered }, { userId: email.userId, emailId: email.publicId }, frame.link('errors?status=open&mine=1'));
    },
  };
}
