/** Sending email over SMTP with a pooled nodemailer transport. */
import nodemailer from 'nodemailer';

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** A Message-ID derived from the delivery's business key, so a receiver can spot a resend. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /** Resolves when the SMTP server accepted the message; throws {@link RecipientRefusedError} or a transient error. */
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

/**
 * Thrown when the SMTP server refuses the recipient permanently (a 5xx reply to RCPT TO): the
 * delivery is recorded as failed and not tried again. Any other failure is transient.
 */
export class RecipientRefusedError extends Error {
  override readonly name = 'RecipientRefusedError';
  constructor(
    readonly recipient: string,
    readonly response: string,
  ) {
    super(`${recipient} was refused by the SMTP server: ${response}`);
  }
}

export interface SmtpMailerOptions {
  smtpUrl: string;
  from: string;
  maxConnections?: number;
}

/**
 * A mailer on a pooled SMTP transport. Its timeouts are shorter than the send activity's, so a
 * stuck server fails an attempt (to be retried) instead of outliving it.
 */
export function createSmtpMailer({ smtpUrl, from, maxConnections = 5 }: SmtpMailerOptions): Mailer {
  const url = new URL(smtpUrl);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections,
    maxMessages: 500,
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 25)),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(email) {
      try {
        await transport.sendMail({
          from,
          to: email.to,
          subject: email.subject,
          html: email.html,
          text: email.text,
          messageId: email.messageId,
          // base64 costs a third of quoted-printable's CPU for large HTML bodies.
          textEncoding: 'base64',
          headers: email.headers,
        });
      } catch (error) {
        const failure = error as { code?: string; responseCode?: number; response?: string; message?: string };
        if (failure.code === 'EENVELOPE' && (failure.responseCode ?? 0) >= 500) {
          throw new RecipientRefusedError(email.to, failure.response ?? failure.message ?? 'refused');
        }
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
