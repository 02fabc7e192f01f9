/** Activities of connection status: checking reports, recording changes, emailing subscribers exactly once. */
import type { Knex } from 'knex';
import { createConnectionStore, type ConnectionEmailContext, type ConnectionState } from './db/connection-store.js';
import { createDeliveryStore } from './db/delivery-store.js';
import type { Mailer } from './email/mailer.js';
import { renderEmail } from './email/render.js';
import { emailText, emailTextLimits } from './email/text.js';
import { emailFrame, emailTime } from './email/email-frame.js';
import { sendDeliveries, type DeliveryJob, type DeliveryTally } from './email/send-deliveries.js';
import { inputFailure } from '../contracts/input-failure.js';
import { activityClock } from './email/send-clock.js';

export interface ConnectionActivityDeps {
  db: Knex;
  mailer: Mailer;
  appUrl: string;
  /** HERALD_CONNECTION_GRACE: an offline shorter than this is not notified. */
  connectionGraceMs: number;
  /** HERALD_DELIVERY_RETRY_LIMIT: how long a recipient refused for now is tried again. */
  deliveryRetryLimitMs: number;
}

export function createConnectionActivities({ db, mailer, appUrl, connectionGraceMs, deliveryRetryLimitMs }: ConnectionActivityDeps) {
  const store = createConnectionStore(db);
  const deliveries = createDeliveryStore(db);
  return {
    /** Refuses a report of an unknown connection; answers the grace period to apply. */
    async checkConnectionReport(environment: string, connection: string): Promise<{ graceMs: number }> {
      if (!(await store.findConnection(environment, connection))) {
        throw inputFailure([{ field: 'connection', message: `unknown connection "${connection}" in environment "${environment}"` }]);
      }
      return { graceMs: connectionGraceMs };
    },

    /** Records a change to notify, once per (connection, sequence); returns its event id. */
    async recordConnectionChange(connection: string, sequence: number, status: ConnectionState, reason: string | null, changedAt: string) {
      return store.recordChange(connection, sequence, status, reason, new Date(changedAt));
    },

    /**
     * Emails every subscriber of a change once: each marked sent once SMTP accepted it. A
     * recipient refused for now is deferred; the environment's digest workflow tries it again.
     */
    async sendConnectionEmails(eventId: number): Promise<DeliveryTally> {
      const queue = (await store.pendingEmails({ eventId })).map((email) => connectionEmailJob(email, appUrl));
      return sendDeliveries({
        mailer,
        store: deliveries,
        next: async () => queue.shift(),
        concurrency: 5,
        retryLimitMs: deliveryRetryLimitMs,
        now: activityClock(),
      });
    },
  };
}

export type ConnectionActivities = ReturnType<typeof createConnectionActivities>;

/** The email of one subscriber about one connection change (S14, S15, S18). */
export function connectionEmailJob(email: ConnectionEmailContext, appUrl: string): DeliveryJob {
  return {
    deliveryId: email.deliveryId,
    recipient: email.recipient,
    messageId: `<connection.${email.deliveryId}.${email.environment.id}.${email.userId}@herald>`,
    wanted: email.wanted,
    async compose() {
      const frame = emailFrame(appUrl, email.environment, email.account);
      const connection = emailText(email.connection.name, emailTextLimits.name);
      const statusText = email.status === 'offline' ? 'offline' : 'back online';
      const subject = `${frame.subjectPrefix}Connection ${connection} is ${statusText}`;
      const rendered = await renderEmail('connection-status', {
        subject,
        connection,
        status: email.status,
        statusText,
        since: emailTime(email.changedAt),
        reason: email.reason ? emailText(email.reason, emailTextLimits.message) : '',
        usedBy: email.usedBy.map((u) => ({
          integration: emailText(u.integration, emailTextLimits.name),
          flows: u.flows.map((f) => emailText(f, emailTextLimits.name)),
        })),
        account: frame.account,
        environment: frame.environment,
        links: {
          connection: frame.link(`connections/${encodeURIComponent(email.connection.id)}`),
          settings: frame.link('notifications'),
        },
      });
      return { subject, ...rendered };
    },
  };
}
