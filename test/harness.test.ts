import { describe, expect, it } from 'vitest';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createRequire } from 'node:module';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer } from './helpers/mail.js';
import { createHarnessActivities } from './fixtures/harness-activities.js';
import { sleepThenRoundTrip } from './fixtures/harness-workflows.js';
import nodemailer from 'nodemailer';
import { migrateLatest, migrateRollbackAll } from '../activities/db/connection.js';

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
    expect(await migrateLatest(db)).toEqual(['20261127000000_create_domain_model']);
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
