import { describe, expect, it } from 'vitest';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createRequire } from 'node:module';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer } from './helpers/mail.js';
import { createHarnessActivities } from './fixtures/harness-activities.js';
import { sleepThenRoundTrip } from './fixtures/harness-workflows.js';
import nodemailer from 'nodemailer';
import { migrateLatest, migrateRollbackAll } from '../stores/database.js';
import { migrationSource } from '../stores/migrations/index.js';
import { errorFingerprint } from '../stores/fingerprint.js';
import { createDigestStore } from '../stores/digest-store.js';
import { createErrorStore } from '../stores/error-store.js';
import { createChannelStore } from '../stores/channel-store.js';
import { channelRequests } from '../channels/transports.js';
import type { ChannelEvent } from '../channels/events.js';

const require = createRequire(import.meta.url);

describe('the test harness', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();

  it('runs a workflow that sleeps 15 minutes in seconds, and round-trips a row through PostgreSQL', async () => {
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./fixtures/harness-workflows.ts'),
      logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'harness',
      workflowBundle,
      activities: createHarnessActivities(db),
    });
    const started = performance.now();
    const name = await worker.runUntil(
      env.client.workflow.execute(sleepThenRoundTrip, {
        args: [15, 'harness-account', 'Harness Ltd'],
        taskQueue: 'harness',
        workflowId: 'harness-sleep',
      }),
    );
    const wallMs = performance.now() - started;
    expect(name).toBe('Harness Ltd');
    expect(wallMs).toBeLessThan(60_000);
    expect(await db('accounts').where({ id: 'harness-account' }).first('name')).toEqual({ name: 'Harness Ltd' });
  });

  it('rolls every migration back and applies them again', async () => {
    await db('accounts').delete();
    await migrateRollbackAll(db);
    const left = await db.raw(`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name not like 'knex_%'`);
    expect(left.rows[0].n).toBe(0);
    expect(await migrateLatest(db)).toEqual([
      '20261127000000_create_domain_model',
      '20261127100000_delivery_flow_lists',
      '20261127200000_add_delivery_outcomes',
      '20261127300000_create_installation',
      '20261127400000_rename_batch_to_report',
      '20261127500000_create_api_tokens',
      '20261127600000_create_sign_in',
      '20261127700000_create_subscription_choices',
      '20261127800000_index_error_pages',
      '20261127900000_record_emails_for_people',
      '20261128000000_create_assignments',
      '20261128100000_create_reminders',
      '20261202000000_create_send_fences',
      '20261203000000_scope_tokens_and_audit',
      '20261203100000_removable_entities',
      '20261204000000_index_retention',
      '20261204100000_digest_ensured',
      '20261205000000_error_fingerprints',
      '20261206000000_digest_rhythms',
      '20261207000000_create_channels',
      '20261208000000_channel_message_ids',
      '20261209000000_held_notifications',
      '20261210000000_channel_rhythms',
      '20261211000000_channel_kinds_in_contracts',
      '20261212000000_refingerprint_quoted_addresses',
      '20261213000000_digest_news',
      '20261214000000_news_cycle_stamps',
      '20261215000000_snoozes',
      '20261216000000_email_actions',
      '20261217000000_index_public_ids',
      '20261218000000_error_trends',
      '20261219000000_weekly_reviews',
      '20261219100000_index_weekly_reviews',
      '20261220000000_one_outbox',
    ]);
  });

  it('moves the flows of existing digest deliveries into their flow list, and back', async () => {
    await migrateRollbackAll(db);
    await db.migrate.up({ migrationSource });
    await db('accounts').insert({ id: 'acme', name: 'Acme' });
    await db('environments').insert({ id: 'prod', account_id: 'acme', name: 'Production', production: true, resource_group: 'prod' });
    await db('integrations').insert({ id: 'shop', account_id: 'acme', resource_group: 'prod', name: 'Shop' });
    await db('flows').insert([
      { id: 'orders', integration_id: 'shop', name: 'Orders' },
      { id: 'refunds', integration_id: 'shop', name: 'Refunds' },
    ]);
    const [user] = await db('users').insert({ account_id: 'acme', email: 'ana@acme.test', role: 'monitor' }).returning('id');
    const [cycle] = await db('digest_cycles')
      .insert({ environment_id: 'prod', number: 1, new_count: 2, resolved_count: 0, delivery_count: 2 })
      .returning('id');
    const deliveries = await db('email_deliveries')
      .insert([
        { kind: 'digest', cycle_id: cycle.id, environment_id: 'prod', user_id: user.id, recipient: 'ana@acme.test' },
        { kind: 'connection', environment_id: 'prod', user_id: user.id, recipient: 'ana@acme.test' },
      ])
      .returning('id');
    await db('delivery_flows').insert([
      { delivery_id: deliveries[0].id, flow_id: 'refunds' },
      { delivery_id: deliveries[0].id, flow_id: 'orders' },
    ]);

    await db.migrate.up({ migrationSource });
    expect(await db('email_deliveries').orderBy('id').pluck('flow_ids')).toEqual([['orders', 'refunds'], []]);

    await db.migrate.down({ migrationSource });
    expect(await db('delivery_flows').orderBy('flow_id').select('delivery_id', 'flow_id')).toEqual([
      { delivery_id: deliveries[0].id, flow_id: 'orders' },
      { delivery_id: deliveries[0].id, flow_id: 'refunds' },
    ]);
    await migrateLatest(db);
  });

  it('keeps delivery outcomes across the deferred-delivery migration and back (cancelled become failed)', async () => {
    await migrateRollbackAll(db);
    // Up to the deferred-delivery migration, as an installation of that release was.
    while ((await db.migrate.currentVersion({ migrationSource })) !== '20261127200000') await db.migrate.up({ migrationSource });
    await db('accounts').insert({ id: 'acme', name: 'Acme' });
    await db('environments').insert({ id: 'prod', account_id: 'acme', name: 'Production', production: true, resource_group: 'prod' });
    const [user] = await db('users').insert({ account_id: 'acme', email: 'ana@acme.test', role: 'monitor' }).returning('id');
    const row = { kind: 'connection', environment_id: 'prod', user_id: user.id, recipient: 'ana@acme.test' };
    await db('email_deliveries').insert([
      { ...row, status: 'cancelled' },
      { ...row, status: 'pending', retry_at: new Date(), deferred_since: new Date() },
      { ...row, status: 'sent' },
    ]);
    await db.migrate.down({ migrationSource, name: '20261127200000_add_delivery_outcomes' });
    expect(await db('email_deliveries').orderBy('id').pluck('status')).toEqual(['failed', 'pending', 'sent']);
    await migrateLatest(db);
    expect(await db('notifications').whereNotNull('retry_at').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await db('notifications').orderBy('id').pluck('status')).toEqual(['failed', 'pending', 'sent']);
    await db('notifications').delete();
    await db('users').delete();
    await db('environments').delete();
    await db('accounts').delete();
  });

  it('S42: gives errors stored with the old address pattern the fingerprint of today\'s, and leaves the rest alone', async () => {
    await migrateRollbackAll(db);
    await migrateLatest(db);
    await db.migrate.down({ migrationSource, name: '20261212000000_refingerprint_quoted_addresses' });
    await db('accounts').insert({ id: 'acme', name: 'Acme' });
    await db('environments').insert({ id: 'prod', account_id: 'acme', name: 'Production', production: true, resource_group: 'prod' });
    await db('integrations').insert({ id: 'shop', account_id: 'acme', resource_group: 'prod', name: 'Shop' });
    await db('flows').insert({ id: 'orders', integration_id: 'shop', name: 'Orders' });
    const error = (key: string, message: string, fingerprint: string | null) => ({
      environment_id: 'prod', flow_id: 'orders', error_key: key, report_id: key, trace_key: key, message, status: 'open', occurred_at: new Date(), fingerprint,
    });
    // As the old pattern stored them: the apostrophe and what came before it were not part of the address.
    const stale = "Mail to o'neil@acme.test failed";
    await db('errors').insert([
      error('stale', stale, 'auto:stale-by-the-old-pattern'),
      error('own', "Mail to o'neil@acme.test failed", 'own:mail-failed'),
      error('before-fingerprints', "Mail to o'neil@acme.test failed", null),
      error('plain', 'Customer 7 not found', errorFingerprint('Customer 7 not found')),
    ]);
    await migrateLatest(db);
    expect(await db('errors').orderBy('id').pluck('fingerprint')).toEqual([
      errorFingerprint("Mail to x'y@acme.test failed"),
      'own:mail-failed',
      null,
      errorFingerprint('Customer 7 not found'),
    ]);
    await db('errors').delete();
    await db('flows').delete();
    await db('integrations').delete();
    await db('environments').delete();
    await db('accounts').delete();
  });

  it('#40: errors keep the cycles that told them across the stamps migration: none told again, none lost, and back', async () => {
    await migrateRollbackAll(db);
    await migrateLatest(db);
    await db.migrate.down({ migrationSource, name: '20261214000000_news_cycle_stamps' });
    await db('accounts').insert({ id: 'acme', name: 'Acme' });
    await db('environments').insert({ id: 'prod', account_id: 'acme', name: 'Production', production: true, resource_group: 'prod' });
    await db('integrations').insert({ id: 'shop', account_id: 'acme', resource_group: 'prod', name: 'Shop' });
    await db('flows').insert({ id: 'orders', integration_id: 'shop', name: 'Orders' });
    const [first] = await db('digest_cycles').insert({ environment_id: 'prod', number: 1, new_count: 2, resolved_count: 0, delivery_count: 0 }).returning('id');
    const error = (key: string, status: string, notified: number | null) => ({
      environment_id: 'prod', flow_id: 'orders', error_key: key, report_id: key, trace_key: key, message: `Order ${key} rejected`, status, occurred_at: new Date(),
      notified_cycle_id: notified, ...(status === 'resolved' && { resolved_at: new Date() }),
    });
    // Told by cycle 1: one still open, one resolved since (its resolution not yet told); one stored
    // since (not yet told); one stored and resolved since (never to be told).
    await db('errors').insert([error('told', 'open', first.id), error('told-resolved', 'resolved', first.id), error('waiting', 'open', null), error('never', 'resolved', null)]);

    await migrateLatest(db);
    const digests = createDigestStore(db);
    expect(await digests.fixCycle('prod', 2)).toMatchObject({ newCount: 1, resolvedCount: 1 });
    await createErrorStore(db).storeReport({ environment: 'prod', flow: 'orders', reportId: 'after', errors: [{ traceKey: 'after', message: 'Stored after the migration' }] }, new Date());
    expect(await digests.fixCycle('prod', 3)).toMatchObject({ newCount: 1, resolvedCount: 0 });
    expect(await digests.fixCycle('prod', 4)).toMatchObject({ newCount: 0, resolvedCount: 0 });

    // Back: an error stamped with a cycle not yet fixed is news not yet taken, as the old fix reads it.
    await createErrorStore(db).storeReport({ environment: 'prod', flow: 'orders', reportId: 'before-down', errors: [{ traceKey: 'before-down', message: 'Stored, then the release rolled back' }] }, new Date());
    await db.migrate.down({ migrationSource, name: '20261214000000_news_cycle_stamps' });
    expect(await db('errors').where({ trace_key: 'before-down' }).first('notified_cycle_id')).toEqual({ notified_cycle_id: null });
    expect(await db('errors').where({ trace_key: 'after' }).first('notified_cycle_id')).not.toEqual({ notified_cycle_id: null });
    await migrateLatest(db);
    await db('errors').delete();
    await db('digest_cycles').delete();
    await db('flows').delete();
    await db('integrations').delete();
    await db('environments').delete();
    await db('accounts').delete();
  });

  it('S47: the trends migration counts the errors already kept: by hour reported and resolved, and those open now', async () => {
    await migrateRollbackAll(db);
    await migrateLatest(db);
    await db.migrate.down({ migrationSource, name: '20261218000000_error_trends' });
    await db('accounts').insert({ id: 'acme', name: 'Acme' });
    await db('environments').insert({ id: 'prod', account_id: 'acme', name: 'Production', production: true, resource_group: 'prod' });
    await db('integrations').insert({ id: 'shop', account_id: 'acme', resource_group: 'prod', name: 'Shop' });
    await db('flows').insert({ id: 'orders', integration_id: 'shop', name: 'Orders' });
    const at = (iso: string) => new Date(iso);
    const error = (key: string, reported: string, resolved?: string) => ({
      environment_id: 'prod', flow_id: 'orders', error_key: key, report_id: key, trace_key: key, message: `Order ${key} rejected`, occurred_at: at(reported), reported_at: at(reported),
      status: resolved ? 'resolved' : 'open', resolved_at: resolved ? at(resolved) : null,
    });
    await db('errors').insert([error('a', '2026-12-01T10:05:00Z'), error('b', '2026-12-01T10:50:00Z', '2026-12-01T11:00:00Z'), error('c', '2026-12-01T11:10:00Z', '2026-12-03T09:00:00Z')]);

    await migrateLatest(db);
    const hours = await db('error_trends').orderBy('hour').select('hour', 'reported', 'resolved', 'within_15m', 'within_3d');
    expect(hours).toEqual([
      { hour: at('2026-12-01T10:00:00Z'), reported: 2, resolved: 0, within_15m: 0, within_3d: 0 },
      { hour: at('2026-12-01T11:00:00Z'), reported: 1, resolved: 1, within_15m: 1, within_3d: 0 },
      { hour: at('2026-12-03T09:00:00Z'), reported: 0, resolved: 1, within_15m: 0, within_3d: 1 },
    ]);
    expect(await db('error_open_counts').select('flow_id', 'open')).toEqual([{ flow_id: 'orders', open: 1 }]);
    expect(await db('error_group_trends').orderBy('group_key').select('group_key', 'reported')).toEqual(['a', 'b', 'c'].map((key) => ({ group_key: `message:Order ${key} rejected`, reported: 1 })));
    // And kept from then on by the database, as errors change.
    await db('errors').where({ error_key: 'a' }).update({ status: 'resolved', resolved_at: at('2026-12-01T10:20:00Z') });
    expect(await db('error_open_counts').select('flow_id', 'open')).toEqual([{ flow_id: 'orders', open: 0 }]);
    expect(await db('error_trends').where({ hour: at('2026-12-01T10:00:00Z') }).first('reported', 'resolved', 'within_15m')).toEqual({ reported: 2, resolved: 1, within_15m: 1 });
    await db('errors').delete();
    await db('flows').delete();
    await db('integrations').delete();
    await db('environments').delete();
    await db('accounts').delete();
  });

  it('S49: emails and channel messages move into one outbox with nothing lost or sent again: emails keep their ids, messages the ids receivers know; a worker of the release before still writes through the old names; and back', async () => {
    await migrateRollbackAll(db);
    await migrateLatest(db);
    await db.migrate.down({ migrationSource, name: '20261220000000_one_outbox' });
    await db('accounts').insert({ id: 'acme', name: 'Acme' });
    await db('environments').insert({ id: 'prod', account_id: 'acme', name: 'Production', production: true, resource_group: 'prod' });
    const [user] = await db('users').insert({ account_id: 'acme', email: 'ana@acme.test', role: 'monitor' }).returning('id');
    const [channel] = await db('channels').insert({ account_id: 'acme', name: 'hook', kind: 'webhook', url: 'https://hooks.example.com/h', secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` }).returning('id');
    const email = { environment_id: 'prod', user_id: user.id, recipient: 'ana@acme.test' };
    for (const table of ['email_deliveries', 'channel_messages']) await db.raw(`select setval(pg_get_serial_sequence(?, 'id'), 1, false)`, [table]);
    const emails = await db('email_deliveries')
      .insert([{ ...email, kind: 'reminder', status: 'sent', planned_at: new Date() }, { ...email, kind: 'weekly', planned_at: new Date(), retry_at: new Date(), public_id: null }])
      .returning(['id', 'public_id']);
    const message = { channel_id: channel.id, environment_id: 'prod', kind: 'reminder', planned_at: new Date() };
    // Serials that emails' ids already have: a message's id cannot stay its own in one table.
    const messages = await db('channel_messages')
      .insert([{ ...message, key: 'reminder:1', public_id: null, status: 'pending', retry_at: new Date(), attempts: 1 }, { ...message, key: 'reminder:2', status: 'sent' }])
      .returning(['id', 'public_id']);
    expect(messages.map((m) => Number(m.id))).toEqual(emails.map((e) => Number(e.id)));

    await migrateLatest(db);
    const outbox = await db('notifications').orderBy('id').select('id', 'kind', 'status', 'user_id', 'channel_id', 'key', 'public_id', 'former_id');
    expect(outbox).toHaveLength(4);
    // Emails as they were, under their ids (their links and Message-IDs name them).
    expect(outbox.slice(0, 2)).toEqual(emails.map((e, i) => ({ id: e.id, kind: i === 0 ? 'reminder' : 'weekly', status: i === 0 ? 'sent' : 'pending', user_id: user.id, channel_id: null, key: null, public_id: e.public_id, former_id: null })));
    // Messages under new ids, each with the id receivers know it by.
    const [legacy, current] = outbox.slice(2);
    expect(legacy).toMatchObject({ kind: 'reminder', status: 'pending', channel_id: channel.id, user_id: null, key: 'reminder:1', public_id: null, former_id: messages[0]!.id });
    expect(current).toMatchObject({ status: 'sent', key: 'reminder:2', public_id: messages[1]!.public_id, former_id: null });
    const [toPost] = await createChannelStore(db).toPost([Number(legacy.id)]);
    if (!toPost) throw new Error('the migrated message is not to be posted');
    const reminder = { type: 'herald.errors.reminder', timestamp: new Date().toISOString(), data: {} } as unknown as ChannelEvent;
    expect(channelRequests(toPost, reminder)[0]!.headers['webhook-id']).toBe(`msg_${messages[0]!.id}`);
    // A notification goes to a person with an address, or to a channel.
    await expect(db('notifications').insert({ kind: 'reminder', environment_id: 'prod', user_id: user.id, channel_id: channel.id, recipient: 'ana@acme.test' })).rejects.toThrow(/notifications_recipient/);

    // A worker of the release before, during a rolling deploy, writes and reads as it did.
    await db.raw(`insert into channel_messages (channel_id, environment_id, kind, key) values (?, 'prod', 'reminder', 'reminder:3') on conflict (key) do nothing`, [channel.id]);
    await db.raw(`insert into channel_messages (channel_id, environment_id, kind, key) values (?, 'prod', 'reminder', 'reminder:3') on conflict (key) do nothing`, [channel.id]);
    await db('email_deliveries').insert({ ...email, kind: 'reminder', planned_at: new Date() });
    expect(await db('channel_messages').count({ n: '*' })).toEqual([{ n: 3 }]);
    expect(await db('email_deliveries').count({ n: '*' })).toEqual([{ n: 3 }]);
    expect(await db('notifications').count({ n: '*' })).toEqual([{ n: 6 }]);

    await db.migrate.down({ migrationSource, name: '20261220000000_one_outbox' });
    expect(await db('email_deliveries').orderBy('id').pluck('kind')).toEqual(['reminder', 'weekly', 'reminder']);
    expect(await db('channel_messages').orderBy('id').pluck('key')).toEqual(['reminder:1', 'reminder:2', 'reminder:3']);
    await migrateLatest(db);
    for (const table of ['notifications', 'channels', 'users', 'environments', 'accounts']) await db(table).delete();
  });

  it('receives mail on a real SMTP server and reads it back parsed', async () => {
    const mail = await startTestMailServer();
    const transport = nodemailer.createTransport(mail.url);
    await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'Hello', text: 'Body' });
    const [message] = await mail.waitFor(1, { to: 'b@example.com' });
    expect(message?.parsed.subject).toBe('Hello');
    expect(message?.parsed.text?.trim()).toBe('Body');
    transport.close();
  });
});
