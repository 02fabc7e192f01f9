/** Activities of connection status: checking reports, recording changes, emailing subscribers exactly once. */
import type { Knex } from 'knex';
import { tellOfLaterDeliveries, type TellDigest } from '../stores/digest-news.js';
import { createConnectionStore, type ConnectionState } from '../stores/connection-store.js';
import type { SendTally } from '../notifications/send.js';
import { connectionEmailJob } from '../email/connection-email.js';
import { installationId } from '../stores/installation.js';
import { inputFailure } from '../contracts/input-failure.js';
import { checkConnectionReport as connectionReportProblems } from '../contracts/error-report.js';
import { notificationSender, oneByOne, type SendingDeps } from './sending.js';
import { unsubscribeLinks } from '../email/unsubscribe.js';

export interface ConnectionActivityDeps extends SendingDeps {
  /** Told of emails and messages left for later: the digest tries them (#40). */
  tellDigest: TellDigest;
  db: Knex;
  /** HERALD_CONNECTION_GRACE: an offline shorter than this is not notified. */
  connectionGraceMs: number;
}

export function createConnectionActivities(deps: ConnectionActivityDeps) {
  const { db, appUrl, secret, connectionGraceMs } = deps;
  const sender = notificationSender(deps);
  const store = createConnectionStore(db);
  const unsubscribe = unsubscribeLinks(appUrl, secret);
  return {
    /**
     * Refuses a report that could never be stored, naming each problem, and one of an unknown
     * connection; answers the grace period to apply. Runs of an earlier release send no `report`.
     */
    async checkConnectionReport(environment: string, connection: string, report?: unknown): Promise<{ graceMs: number }> {
      if (report !== undefined) {
        const problems = connectionReportProblems(report);
        if (problems.length > 0) throw inputFailure(problems);
      }
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
     * The change's channel messages go beside the emails (S43).
     */
    async sendConnectionEmails(eventId: number): Promise<SendTally> {
      const installation = await installationId(db);
      const queue = (await store.pendingEmails({ eventId })).map((email) => connectionEmailJob(email, appUrl, installation, unsubscribe));
      const tally = (await sender.send(oneByOne(queue, 5), await sender.firstPosts({ connection_event_id: eventId }))).emails;
      // What waits for later is the digest's to try: its next cycle learns when (#40).
      await tellOfLaterDeliveries(db, deps.tellDigest, { connection_event_id: eventId });
      return tally;
    },
  };
}

export type ConnectionActivities = ReturnType<typeof createConnectionActivities>;
