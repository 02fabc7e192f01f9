/**
 * A mailer thread of {@link createThreadedMailer}: sends the emails its parent posts on a pooled
 * SMTP transport of its own, and answers each with its outcome.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ClaimExpiredError, createSmtpMailer, RecipientRefusedError, type SmtpMailerOptions } from './mailer.js';
import type { MailerThreadReply, MailerThreadRequest } from './mailer-threads.js';

const port = parentPort!;
const mailer = createSmtpMailer(workerData as SmtpMailerOptions);

port.on('message', (request: MailerThreadRequest) => {
  if (request.kind === 'close') {
    mailer.close();
    port.close();
    return;
  }
  const reply = (answer: MailerThreadReply) => port.postMessage(answer);
  mailer.send(request.email).then(
    () => reply({ id: request.id, kind: 'sent' }),
    (error: unknown) => {
      if (error instanceof RecipientRefusedError) {
        reply({ id: request.id, kind: 'refused', recipient: error.recipient, response: error.response, permanent: error.permanent, code: error.code });
        return;
      }
      if (error instanceof ClaimExpiredError) {
        reply({ id: request.id, kind: 'expired', message: error.message });
        return;
      }
      const { message, code, responseCode, command } = (error ?? {}) as { message?: string; code?: string; responseCode?: number; command?: string };
      reply({ id: request.id, kind: 'failed', message: message ?? String(error), code, responseCode, command });
    },
  );
});
