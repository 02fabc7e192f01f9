/**
 * What a kind of notification is (S49): what it is called, how its emails are made one at a time,
 * and the event it tells a channel. Each kind has one module (kinds/connection.ts, …) and kinds.ts
 * lists them; its planning is its store's statement, its "still wanted" rule (S38) the delivery store's.
 */
import type { Knex } from 'knex';
import type { ChannelMessage } from '../stores/channel-store.js';
import type { DeliveryJob } from '../email/email-job.js';
import type { UnsubscribeLinks } from '../email/unsubscribe.js';
import type { EmailActionLinks } from '../email/email-actions.js';
import type { ChannelEvent } from '../channels/events.js';

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

/** Where a channel event's links lead, and the database it is read from. */
export interface EventSource {
  db: Knex;
  appUrl: string;
}

/** A kind's emails, each made for one person and one event: read, then made into the job that sends it. */
export interface KindEmails<Email> {
  emails(db: Knex, which: DeliveriesWanted): Promise<Email[]>;
  job(email: Email, links: EmailLinks): DeliveryJob;
}

/** A kind's emails, typed by what its store reads. */
export const kindEmails = <Email>(emails: KindEmails<Email>) => emails;

export interface NotificationKind<Email = unknown> {
  /** What "My messages" calls one that has no subject yet (not sent). */
  name: string;
  /** Its emails, one at a time (a digest's are composed a cycle at a time: email/digest-composer.ts). */
  email?: KindEmails<Email>;
  /** The event a message of this kind tells a channel (S43), read from what it was planned for. */
  event?(source: EventSource, message: ChannelMessage): Promise<ChannelEvent>;
}

/** A kind, its emails typed in its own module. */
export const notificationKind = <Email>(kind: NotificationKind<Email>): NotificationKind => kind as NotificationKind;
