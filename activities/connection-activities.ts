/** Activities of connection status: checking reports, recording changes, emailing subscribers exactly once. */
import type { Knex } from 'knex';
import { createConnectionStore, type ConnectionState } from './db/connection-store.js';
import { createDigestStore } from './db/digest-store.js';
import type { Mailer } from './email/mailer.js';
import { deliver } from './email/deliver.js';
import { renderEmail } from './email/render.js';
import { emailText, emailTextLimits } from './email/text.js';
import { emailFrame, emailTime } from './email/email-frame.js';
import { inputFailure } from './input-failure.js';

export interface ConnectionActivityDeps {
  db: Knex;
  mailer: Mailer;
  appUrl: string;
  /** HERALD_CONNECTION_GRACE: an offline shorter than this is not notified. */
  connectionGraceMs: number;
}

export function createConnectionActivities({ db, mailer, appUrl, connectionGraceMs }: ConnectionActivityDeps) {
  const store = createConnectionStore(db);
  const deliveries = createDigestStore(db);
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

    /** Emails every pending subscriber of a change; each marked sent once SMTP accepted it. */
    async sendConnectionEmails(eventId: number): Promise<{ sent: number; failed: number }> {
      let sent = 0;
      let failed = 0;
      for (const email of await store.pendingEmails(eventId)) {
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
        const messageId = `<connection.${eventId}.${email.environment.id}.${email.userId}@herald>`;
        const outcome = await deliver(mailer, deliveries, email.deliveryId, { to: email.recipient, subject, ...rendered, messageId });
        if (outcome === 'sent') sent += 1;
        else failed += 1;
      }
      return { sent, failed };
    },
  };
}

export type ConnectionActivities = ReturnType<typeof createConnectionActivities>;
