/** Composing connection status emails (S14, S15, S18). */
import type { ConnectionEmailContext } from '../stores/connection-store.js';
import { renderEmail } from './render.js';
import { messageText, messageTextLimits } from '../contracts/message-text.js';
import { emailFrame, emailTime, heraldMessageId } from './email-frame.js';
import type { DeliveryJob } from './email-job.js';
import { unsubscribePlaceholder, withUnsubscribe, type UnsubscribeLinks } from './unsubscribe.js';

/** The email of one subscriber about one connection change (S14, S15, S18). */
export function connectionEmailJob(email: ConnectionEmailContext, appUrl: string, installation: string, unsubscribe: UnsubscribeLinks): DeliveryJob {
  return {
    kind: 'connection',
    deliveryId: email.deliveryId,
    recipient: email.recipient,
    messageId: heraldMessageId('connection', email.publicId, email.deliveryId, email.userId, installation),
    wanted: email.wanted,
    async compose() {
      const frame = emailFrame(appUrl, email.environment, email.account);
      const connection = messageText(email.connection.name, messageTextLimits.name);
      const statusText = email.status === 'offline' ? 'offline' : 'back online';
      const subject = `${frame.subjectPrefix}Connection ${connection} is ${statusText}`;
      const rendered = await renderEmail('connection-status', {
        subject,
        connection,
        status: email.status,
        statusText,
        since: emailTime(email.changedAt),
        reason: email.reason ? messageText(email.reason, messageTextLimits.message) : '',
        errorsSince: email.status === 'offline' ? email.errorsSince : undefined,
        oneErrorSince: email.errorsSince === 1,
        usedBy: email.usedBy.map((u) => ({
          integration: messageText(u.integration, messageTextLimits.name),
          flows: u.flows.map((f) => messageText(f, messageTextLimits.name)),
        })),
        account: frame.account,
        environment: frame.environment,
        links: {
          connection: frame.link(`connections/${encodeURIComponent(email.connection.id)}`),
          settings: frame.link('notifications'),
          unsubscribe: unsubscribePlaceholder,
        },
        unsubscribeWhat: `emails about ${connection} in ${frame.environment.name}`,
      });
      return withUnsubscribe({ subject, ...rendered }, unsubscribe, {
        userId: email.userId,
        environment: email.environment.id,
        scope: { kind: 'connection', connection: email.connection.id },
      });
    },
  };
}
