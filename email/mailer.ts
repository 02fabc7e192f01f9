/** Sending email over SMTP with a pooled nodemailer transport. */
import nodemailer from 'nodemailer';
import { isPlainAddress } from '../contracts/email-address.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** A Message-ID derived from the delivery's business key, so a receiver can spot a resend. */
  messageId: string;
  headers?: Record<string, string>;
  /**
   * The time (ms since the epoch) after which the claim to send it is too old to trust: the
   * mailer hands the message to SMTP only before it, else throws {@link ClaimExpiredError}.
   */
  notAfter?: number;
}

/**
 * A notification's claim expired before it could be handed to its receiver (the mailer to SMTP,
 * a post to its channel): its process stood still (paused, starved) long enough that another
 * attempt may have taken the sending over. Nothing was sent; the sender checks its claim again
 * before it tries anew (notifications/send.ts).
 */
export class ClaimExpiredError extends Error {
  override name = 'ClaimExpiredError';
  constructor(late: number) {
    super(`the claim to send expired ${late} ms before the notification reached its receiver`);
  }
}

export interface Mailer {
  /**
   * Resolves when the SMTP server accepted the message. Throws {@link RecipientRefusedError}
   * when the server refused this recipient or message (for good, or for now); any other failure
   * is the mail server's as a whole (unreachable, closing, refusing the sender).
   */
  send(email: OutgoingEmail): Promise<void>;
  /** SMTP connections in all: no more emails are on their way at once. */
  readonly connections: number;
  close(): void;
}

/**
 * Thrown when the SMTP server refuses one recipient or one message: at RCPT TO or after DATA
 * (S34). `permanent` (a 5xx reply, or an address Herald will not send to) means the delivery is
 * recorded as failed at once; otherwise (a 4xx reply) it is tried again later, without holding
 * anyone else back. A refusal of the sender, or 421, is not this: that is the server's outage.
 */
export class RecipientRefusedError extends Error {
  override readonly name = 'RecipientRefusedError';
  constructor(
    readonly recipient: string,
    readonly response: string,
    readonly permanent: boolean,
    /** The SMTP reply code, when the server gave one (none: an address Herald will not send to). */
    readonly code?: number,
  ) {
    super(`${recipient} was refused ${permanent ? 'for good' : 'for now'} by the SMTP server: ${response}`);
  }
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

/**
 * The refusal of one recipient or message in a nodemailer failure, or undefined when the
 * failure is the server's as a whole: connection errors, 421 (closing), and any refusal at
 * MAIL FROM (the sender is the same for everyone).
 */
export function recipientRefusal(recipient: string, error: unknown): RecipientRefusedError | undefined {
  const failure = (error ?? {}) as SmtpFailure;
  if (failure.code !== 'EENVELOPE' && failure.code !== 'EMESSAGE') return undefined;
  const code = failure.responseCode;
  if (code === 421 || failure.command === 'MAIL FROM') return undefined;
  const response = `${failure.command ? `${failure.command}: ` : ''}${failure.response ?? failure.message ?? 'refused'}`;
  if (code === undefined) return failure.command === 'API' ? new RecipientRefusedError(recipient, response, true) : undefined;
  if (code >= 500) return new RecipientRefusedError(recipient, response, true, code);
  if (code >= 400) return new RecipientRefusedError(recipient, response, false, code);
  return undefined;
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
    connections: maxConnections,
    async send(email) {
      // Mail goes exactly where the catalog says: one plain address, nothing nodemailer could read otherwise (S37).
      if (!isPlainAddress(email.to)) throw new RecipientRefusedError(email.to, 'not a plain email address', true);
      // The last moment before the message leaves: a process that stood still since its claim sends nothing on it.
      if (email.notAfter !== undefined && Date.now() > email.notAfter) throw new ClaimExpiredError(Date.now() - email.notAfter);
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
        throw recipientRefusal(email.to, error) ?? error;
      }
    },
    close: () => transport.close(),
  };
}
