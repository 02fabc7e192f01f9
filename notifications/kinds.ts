/**
 * Every kind of notification (S49), each one module of kinds/: a new kind is its module and its
 * line here, with its templates, its store's planning, and its "still wanted" rule (S38) in
 * stores/delivery-store.ts, which the compiler asks for.
 */
import type { Knex } from 'knex';
import type { DeliveryKind } from '../stores/delivery-store.js';
import type { ChannelMessage } from '../stores/channel-store.js';
import type { DeliveryJob } from '../email/email-job.js';
import type { ChannelEvent } from '../channels/events.js';
import type { DeliveriesWanted, EmailLinks, EventSource, NotificationKind } from './kind.js';
import { digest } from './kinds/digest.js';
import { connection } from './kinds/connection.js';
import { reminder } from './kinds/reminder.js';
import { assignment } from './kinds/assignment.js';
import { weekly } from './kinds/weekly.js';

export type { DeliveriesWanted, EmailLinks } from './kind.js';

export const kinds: Record<DeliveryKind, NotificationKind> = { digest, connection, reminder, assignment, weekly };

/** What "My messages" calls an email of each kind that has no subject yet. */
export const kindNames = Object.fromEntries(Object.entries(kinds).map(([name, kind]) => [name, kind.name])) as Record<DeliveryKind, string>;

/** The jobs of these deliveries, of one kind made one email at a time: one read for all. */
export async function emailJobs(db: Knex, kindOf: DeliveryKind, which: DeliveriesWanted, links: EmailLinks): Promise<DeliveryJob[]> {
  const email = kinds[kindOf].email;
  if (!email) throw new Error(`${kindOf} emails are composed a cycle at a time, not one by one`);
  if (which.deliveryIds.length === 0) return [];
  return (await email.emails(db, which)).map((one) => email.job(one, links));
}

/** The kinds whose emails are made one at a time. */
export const singleEmailKinds = (Object.keys(kinds) as DeliveryKind[]).filter((kind) => kinds[kind].email !== undefined);

/** A message's event (S43): as kept from its first attempt, or read now from what it was planned for. */
export async function eventOf(source: EventSource, message: ChannelMessage): Promise<ChannelEvent> {
  if (message.event) return message.event as ChannelEvent;
  const event = kinds[message.kind].event;
  if (!event) throw new Error(`${message.kind} notifications are not posted to channels`);
  return event(source, message);
}
