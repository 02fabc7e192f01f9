/**
 * S49: every notification's id is unique across installations and database restores, and the
 * same on every attempt: a receiver that drops the ids it has seen (as Standard Webhooks
 * advises) drops only true repeats.
 */
import { describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { createTestDatabase } from './helpers/database.js';
import { createTestWorld } from './helpers/world.js';
import { createChannelStore } from '../stores/channel-store.js';
import { channelRequests } from '../channels/transports.js';
import type { ChannelEvent } from '../channels/events.js';
import { createReminderStore } from '../stores/reminder-store.js';
import { installationId } from '../stores/installation.js';
import { heraldMessageId } from '../email/email-frame.js';

/** An installation with a signed webhook and one reminder planned for it, as its digest would. */
async function installation(): Promise<{ db: Knex; messageId: number }> {
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const { channel } = await createChannelStore(db).put('acme', { name: 'hook', kind: 'webhook', url: 'https://hooks.example.com/herald' });
  const messageId = await planReminder(db, channel.id, 'day-1');
  return { db, messageId };
}

async function planReminder(db: Knex, channelId: number, day: string): Promise<number> {
  const [row] = await db('notifications')
    .insert({ channel_id: channelId, environment_id: 'prod', kind: 'reminder', key: `reminder:${day}:${channelId}`, planned_at: new Date(), flow_ids: ['orders'] })
    .returning('id');
  return Number(row.id);
}

const event = { type: 'herald.errors.reminder', timestamp: new Date().toISOString(), data: {} } as unknown as ChannelEvent;

/** The webhook-id of the message's next attempt. */
async function webhookId(db: Knex, messageId: number): Promise<string> {
  const [message] = await createChannelStore(db).toPost([messageId]);
  if (!message) throw new Error(`message ${messageId} is not to be posted`);
  return channelRequests(message, event)[0]!.headers['webhook-id']!;
}

describe('S49: notification ids', () => {
  it('S49: two installations\' first webhook messages have different ids; a retry has the same id; a message planned again after a restore has a new one', async () => {
    const first = await installation();
    const second = await installation();
    // Both databases number their first message alike.
    expect(first.messageId).toBe(second.messageId);

    const firstId = await webhookId(first.db, first.messageId);
    expect(await webhookId(second.db, second.messageId)).not.toBe(firstId);
    expect(await webhookId(first.db, first.messageId)).toBe(firstId);

    // A restore from before the message: its row and the serial are gone, and the next message takes its number.
    await first.db('notifications').whereNotNull('channel_id').where({ id: first.messageId }).delete();
    await first.db.raw(`select setval(pg_get_serial_sequence('notifications', 'id'), 1, false)`);
    const replanned = await planReminder(first.db, (await first.db('channels').first('id')).id, 'day-2');
    expect(replanned).toBe(first.messageId);
    expect(await webhookId(first.db, replanned)).not.toBe(firstId);
  });

  it('S49: an email planned again after a restore (its delivery\'s number used again) has a new Message-ID; each attempt of one has the same', async () => {
    const { db } = await createTestDatabase();
    await createTestWorld(db);
    const ops = (await db('users').where({ email: 'ops@acme.test' }).first('id')).id as number;
    const installation = await installationId(db);
    const plan = async () => Number((await db('notifications').insert({ kind: 'reminder', environment_id: 'prod', user_id: ops, recipient: 'ops@acme.test', open_count: 1 }).returning('id'))[0].id);
    const messageIdOf = async (deliveryId: number) => {
      const [email] = await createReminderStore(db).pendingEmails({ deliveryIds: [deliveryId] });
      return heraldMessageId('reminder', email!.publicId, email!.deliveryId, email!.userId, installation);
    };
    const first = await plan();
    const before = await messageIdOf(first);
    expect(await messageIdOf(first)).toBe(before);

    await db('notifications').whereNull('channel_id').where({ id: first }).delete();
    await db.raw(`select setval(pg_get_serial_sequence('notifications', 'id'), ${first}, false)`);
    const again = await plan();
    expect(again).toBe(first);
    expect(await messageIdOf(again)).not.toBe(before);

    // One planned before such ids keeps the Message-ID its earlier attempts carried.
    await db('notifications').whereNull('channel_id').where({ id: again }).update({ public_id: null });
    expect(await messageIdOf(again)).toBe(`<reminder.${again}.${ops}@${installation}.herald>`);
  });
});
