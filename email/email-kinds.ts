/**
 * The kinds of email Herald plans one at a time, for one person and one event (S49: kinds are
 * modules, found here): where each reads its emails among deliveries, and how it makes each one's
 * job. Sending again what was deferred, and showing an email again as it was sent, go through
 * this one table. The digest is not here: a cycle composes its emails together (digest-composer).
 */
import type { Knex } from 'knex';
import type { DeliveryKind } from '../stores/delivery-store.js';
import { createConnectionStore } from '../stores/connection-store.js';
import { createReminderStore } from '../stores/reminder-store.js';
import { createAssignmentStore } from '../stores/assignment-store.js';
import { createWeeklyReviewStore } from '../stores/weekly-review-store.js';
import type { DeliveryJob } from './send-deliveries.js';
import type { UnsubscribeLinks } from './unsubscribe.js';
import type { EmailActionLinks } from './email-actions.js';
import { connectionEmailJob } from './connection-email.js';
import { reminderEmailJob } from './reminder-email.js';
import { assignmentEmailJob } from './assignment-email.js';
import { weeklyReviewEmailJob } from './weekly-review-email.js';

/** What an email's job needs besides its own content: where links lead, the installation (its Message-ID), its unsubscribe and action links. */
export interface EmailLinks {
  appUrl: string;
  installation: string;
  unsubscribe: UnsubscribeLinks;
  actions: EmailActionLinks;
}

/** Which deliveries: these, pending; or (`anyStatus`) whatever became of them, to show one again. */
export interface DeliveriesWanted {
  deliveryIds: number[];
  anyStatus?: boolean;
}

interface EmailKind<Email> {
  /** What "My emails" calls one that has no subject yet (not sent). */
  name: string;
  emails(db: Knex, which: DeliveriesWanted): Promise<Email[]>;
  job(email: Email, links: EmailLinks): DeliveryJob;
}

/** Typed one by one, each kind's email with its job. */
const kind = <Email>(k: EmailKind<Email>): EmailKind<unknown> => k as EmailKind<unknown>;

export const singleEmailKinds: Record<Exclude<DeliveryKind, 'digest'>, EmailKind<unknown>> = {
  connection: kind({
    name: 'Connection email',
    emails: (db, which) => createConnectionStore(db).pendingEmails(which),
    job: (email, links) => connectionEmailJob(email, links.appUrl, links.installation, links.unsubscribe),
  }),
  reminder: kind({
    name: 'Reminder of errors still open',
    emails: (db, which) => createReminderStore(db).pendingEmails(which),
    job: (email, links) => reminderEmailJob(email, links.appUrl, links.installation, links.unsubscribe, links.actions),
  }),
  assignment: kind({
    name: 'Errors assigned to you',
    emails: (db, which) => createAssignmentStore(db).pendingEmails(which),
    job: (email, links) => assignmentEmailJob(email, links.appUrl, links.installation, links.actions),
  }),
  weekly: kind({
    name: 'Weekly review',
    emails: (db, which) => createWeeklyReviewStore(db).pendingEmails(which),
    job: (email, links) => weeklyReviewEmailJob(email, links.appUrl, links.installation, links.unsubscribe),
  }),
};

/** What "My emails" calls an email of each kind that has no subject yet. */
export const emailKindNames: Record<DeliveryKind, string> = {
  digest: 'Digest',
  ...(Object.fromEntries(Object.entries(singleEmailKinds).map(([name, k]) => [name, k.name])) as Record<Exclude<DeliveryKind, 'digest'>, string>),
};

/** The jobs of these deliveries, of one kind: one read for all. */
export async function emailJobs(db: Knex, kindOf: Exclude<DeliveryKind, 'digest'>, which: DeliveriesWanted, links: EmailLinks): Promise<DeliveryJob[]> {
  if (which.deliveryIds.length === 0) return [];
  const k = singleEmailKinds[kindOf];
  return (await k.emails(db, which)).map((email) => k.job(email, links));
}
