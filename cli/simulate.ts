/**
 * `herald simulate` (`npm run demo`): drives the demo catalog (examples/catalog.yaml) the way
 * real flows would, so that the mail catcher and the Temporal UI have something to show:
 * flows that fail, intermittent errors that recover or not, records that later succeed, a
 * connection that flaps and one that goes down, an assignment, then a digest cycle in each
 * environment, whose production digest also reaches a signed webhook receiver of the simulation's
 * own (S43); a reader who acts from that digest by its links — resolves one error, snoozes a group
 * for a day (S45, S46) — on Herald's server; then errors folded into the outage of their
 * connection (S30) and a reminder of an error left open (S31).
 */
import type { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { HeraldClient } from '../client/herald-client.js';
import { createErrorStore } from '../stores/error-store.js';
import { connectionStatusWorkflowId, environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { remindNowUpdate, runCycleNowUpdate, type CycleSummary, type ReminderRound } from '../workflows/environment-digest.js';
import { connectionStatusQuery } from '../workflows/connection-status.js';
import { describeRhythm } from '../contracts/rhythm.js';
import { rhythmOfRow } from '../stores/rhythm.js';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { Webhook } from 'standardwebhooks';
import { putChannel, putTarget, removeChannel } from '../admin/channels.js';
import { digestEventSchema } from '../channels/events.js';
import { updateUntilTaken } from '../client/updates.js';
import { emailActionToken } from '../email/email-actions.js';
import type { ActionTarget, EmailAction } from '../contracts/email-action.js';

export interface SimulationOptions {
  client: HeraldClient;
  temporal: Client;
  /** Herald's database, where the simulation finds the error it assigns. */
  db: Knex;
  log?: (line: string) => void;
  /** Waits between steps (real time); tests pass one that returns at once. */
  pause?: (ms: number) => Promise<void>;
  /**
   * Herald's server (HERALD_APP_URL) and the secret its emails' links are signed with: the reader
   * follows them there. Without them, the simulation says it cannot.
   */
  emailLinks?: { appUrl: string; secret: string };
}

/** Environments of the demo catalog, as `herald simulate` expects them. */
export const demoEnvironments = ['acme-production', 'acme-sandbox', 'acme-staging'];

export async function simulateDemo(options: SimulationOptions): Promise<void> {
  const { client, temporal } = options;
  const log = options.log ?? (() => {});
  const pause = options.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // Trace keys of this run, so that running the demo again reports new records.
  const run = randomBytes(2).toString('hex').toUpperCase();

  log('Flows fail:');
  const orders = await client.reportErrors({
    environment: 'acme-production',
    flow: 'orders-to-erp',
    errors: [
      { traceKey: `SO-${run}-1001`, message: 'Customer "C-88" not found in ERP', code: 'NOT_FOUND', step: 'Create sales order' },
      { traceKey: `SO-${run}-1002`, message: 'Price list "EU-2026" is missing for SKU TENT-4P', code: 'VALIDATION', step: 'Map order lines' },
      { traceKey: `SO-${run}-1003`, message: 'Shipping method <EXPRESS> is not allowed for PO boxes', code: 'VALIDATION', step: 'Map shipping' },
      // The same failure for other customers: the digest shows them as one line (S42).
      ...Array.from({ length: 12 }, (_, i) => ({
        traceKey: `SO-${run}-${1100 + i}`,
        message: `Customer "C-${120 + i}" not found in ERP`,
        code: 'NOT_FOUND',
        step: 'Create sales order',
      })),
    ],
  });
  log(`  orders-to-erp (production): ${orders.stored} errors, 13 of them "Customer ‹value› not found in ERP": one line in the digest`);
  const customers = await client.reportErrors({
    environment: 'acme-production',
    flow: 'customers-to-erp',
    errors: [{ traceKey: `CUS-${run}-17`, message: 'VAT number fails the checksum', code: 'VALIDATION', step: 'Validate account' }],
  });
  log(`  customers-to-erp (production): ${customers.stored} error`);
  const sandbox = await client.reportErrors({
    environment: 'acme-sandbox',
    flow: 'orders-to-erp',
    errors: [{ traceKey: `SO-${run}-T1`, message: 'Test order rejected: credit hold', code: 'CREDIT_HOLD', step: 'Create sales order' }],
  });
  log(`  orders-to-erp (sandbox): ${sandbox.stored} error`);
  const staging = await client.reportErrors({
    environment: 'acme-staging',
    flow: 'staging-orders-to-erp',
    errors: [{ traceKey: `SO-${run}-S1`, message: 'Staging ERP returned HTTP 500', code: 'HTTP_500', step: 'Create sales order' }],
  });
  log(`  staging-orders-to-erp (staging): ${staging.stored} error`);

  log('Intermittent errors go into their retry window:');
  const shipments = await client.reportErrors({
    environment: 'acme-production',
    flow: 'shipments-to-warehouse',
    errors: [
      { traceKey: `SHIP-${run}-1`, message: 'Gateway timeout from the warehouse SFTP relay', code: '504', step: 'Upload pick list' },
      { traceKey: `SHIP-${run}-2`, message: 'Warehouse SFTP connection reset', code: 'ECONNRESET', step: 'Upload pick list' },
    ],
  });
  log(`  shipments-to-warehouse: ${shipments.retrying} retrying (${shipments.retryWorkflowId})`);

  await pause(2_000);
  log('Records succeed later:');
  const recovered = await client.reportSuccesses({ environment: 'acme-production', flow: 'shipments-to-warehouse', traceKeys: [`SHIP-${run}-1`] });
  log(`  SHIP-${run}-1 succeeded: ${recovered.recovered} recovered silently; SHIP-${run}-2 stays in its window and will be notified`);
  const fixed = await client.reportSuccesses({ environment: 'acme-production', flow: 'orders-to-erp', traceKeys: [`SO-${run}-1003`] });
  log(`  SO-${run}-1003 succeeded on a re-run: ${fixed.resolved} auto-resolved before any digest (never emailed)`);

  log('Connections change:');
  await client.reportConnectionStatus({ environment: 'acme-production', connection: 'erp-api', status: 'offline', reason: 'TLS handshake timeout' });
  await pause(1_000);
  await client.reportConnectionStatus({ environment: 'acme-production', connection: 'erp-api', status: 'online' });
  log('  erp-api flapped (offline, online again within the grace period): nobody is emailed');
  await client.reportConnectionStatus({
    environment: 'acme-production',
    connection: 'warehouse-sftp',
    status: 'offline',
    reason: 'Authentication failed: password expired',
  });
  log('  warehouse-sftp is offline: its subscribers are emailed once the grace period ends');

  log('Errors are assigned:');
  const [vat] = await createErrorStore(options.db).listErrors({ environment: 'acme-production', flow: 'customers-to-erp', traceKey: `CUS-${run}-17` });
  await client.assignErrors({ environment: 'acme-production', errorIds: [vat!.id], assignee: 'owner@acme.example', user: 'integrations@acme.example' });
  log(`  integrations@acme.example assigned CUS-${run}-17 to owner@acme.example, who is emailed at once (in their quiet hours, when those end)`);

  log('A signed webhook receives the production digest beside the email:');
  const receiver = await startWebhookReceiver(options.db);
  log(`  demo-webhook posts to ${receiver.url}, for integrations@acme.example's subscriptions in acme-production`);

  log('Digest cycles run now:');
  const digestNow = (environment: string) => updateUntilTaken(() => temporal.workflow.getHandle(environmentDigestWorkflowId(environment)).executeUpdate(runCycleNowUpdate));
  try {
    for (const environment of demoEnvironments) log(`  ${environment}: ${describeCycle(await digestNow(environment))}`);
    await poll(async () => receiver.received.length > 0, pause, 1_000, 30_000);
    log(receiver.describe());
  } finally {
    await receiver.close();
  }
  await actFromTheEmail(options, run, log);
  for (const waiting of await rhythmsOf(options.db, 'acme-production')) {
    log(`  ${waiting.email} gets production's digest ${describeRhythm(waiting.rhythm)}: what is new waits for it, counted since their last one`);
  }

  log('While warehouse-sftp is offline, the flow that uses it fails (root cause first):');
  const sftp = temporal.workflow.getHandle(connectionStatusWorkflowId('warehouse-sftp'));
  log("  waiting for warehouse-sftp's grace period to pass (HERALD_CONNECTION_GRACE: 15 s with npm run start:demo) and its offline emails to go, checking every 5 s for up to 3 minutes…");
  const outageRecorded = await poll(async () => (await sftp.query(connectionStatusQuery)).notified === 'offline', pause, 5_000, 3 * 60_000);
  if (!outageRecorded) throw new Error('the outage of warehouse-sftp was not recorded within 3 minutes (HERALD_CONNECTION_GRACE is longer?)');
  const duringOutage = await client.reportErrors({
    environment: 'acme-production',
    flow: 'shipments-to-warehouse',
    errors: [1, 2, 3].map((n) => ({ traceKey: `SHIP-${run}-${10 + n}`, message: 'Permission denied (publickey,password)', code: 'SFTP_AUTH', step: 'Upload pick list' })),
  });
  log(`  shipments-to-warehouse: ${duringOutage.stored} errors while its connection is down`);
  log(`  acme-production: ${describeCycle(await digestNow('acme-production'))}; the digest folds them into one line about Warehouse SFTP`);

  log('Errors left open are reminded of:');
  // Once an error has been open past its environment's threshold, the digest's look for reminders
  // finds it: the demo asks for a look now and then, and takes a reminder the digest sent on its own
  // as well. A person is reminded once a day at most: a second run the same day says so at once.
  const remindedBefore = await lastReminder(options.db, 'acme-staging', 'owner@acme.example');
  if (remindedBefore && remindedBefore.getTime() > Date.now() - 86_400_000) {
    log(`  acme-staging: owner@acme.example was reminded at ${remindedBefore.toISOString()} (once a day at most): SO-${run}-S1 waits for their next reminder`);
    return;
  }
  const remindStaging = () => updateUntilTaken(() => temporal.workflow.getHandle(environmentDigestWorkflowId('acme-staging')).executeUpdate(remindNowUpdate));
  const remindedSince = async () => ((await lastReminder(options.db, 'acme-staging', 'owner@acme.example'))?.getTime() ?? 0) > (remindedBefore?.getTime() ?? 0);
  let round: ReminderRound | undefined;
  log(`  waiting for SO-${run}-S1 to be open longer than Staging's threshold (remindAfter: 1 minute in the demo catalog), asking every 5 s for up to 2 minutes…`);
  const reminded = await poll(async () => (round = await remindStaging()).planned > 0 || (await remindedSince()), pause, 5_000, 2 * 60_000);
  if (!reminded) throw new Error(`owner@acme.example was not reminded of SO-${run}-S1 within 2 minutes (is the digest of acme-staging running?)`);
  log(
    `  acme-staging: SO-${run}-S1 is open past Staging's threshold (remindAfter in the catalog): ` +
      (round && round.planned > 0 ? `${round.planned} user(s) reminded, ${round.sent} email(s) sent` : "owner@acme.example reminded by the digest's own look"),
  );
}

/**
 * The production digest's reader follows two of its links on Herald's server, as a person would:
 * each opens a page that asks, and the page's button does it (S45). One error resolved, the group
 * of customers not found snoozed for a day (S46); the next digest says who resolved it, from an email.
 */
async function actFromTheEmail(options: SimulationOptions, run: string, log: (line: string) => void): Promise<void> {
  log('The digest\'s reader acts from the email:');
  const reader = 'integrations@acme.example';
  if (!options.emailLinks) {
    log("  (no HERALD_SECRET here, nor an npm start data folder keeping one: the emails' links cannot be followed from the command line)");
    return;
  }
  const { appUrl, secret } = options.emailLinks;
  const digest = await options.db('notifications as d')
    .join('users as u', 'u.id', 'd.user_id')
    .where({ 'd.kind': 'digest', 'd.environment_id': 'acme-production', 'u.email': reader })
    .whereNotNull('d.public_id')
    .orderBy('d.id', 'desc')
    .first('d.public_id', 'd.user_id');
  const errorOf = async (traceKey: string) => Number((await options.db('errors').where({ environment_id: 'acme-production', trace_key: traceKey }).first('id'))!.id);
  // The links the email carries, made as the email made them.
  const link = async (action: EmailAction, target: ActionTarget, traceKey: string) =>
    `${appUrl.replace(/\/+$/, '')}/act/${emailActionToken(secret, { userId: Number(digest.user_id), emailId: digest.public_id, action, target, errorId: await errorOf(traceKey) })}`;
  try {
    const resolved = await pressLink(await link('resolve', 'error', `SO-${run}-1002`));
    log(`  ${reader} presses "Resolve" beside SO-${run}-1002 in their digest: ${resolved}`);
    const snoozed = await pressLink(await link('snooze', 'group', `SO-${run}-1100`));
    log(`  ${reader} presses "Snooze all for a day" beside the customers not found: ${snoozed}`);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    log(`  (Herald's server at ${appUrl} did not answer, ${String((error.cause as Error | undefined)?.message ?? error.message)}: npm start runs it)`);
  }
}

/**
 * Follows an action link as a browser would: opens its page, presses its button (a POST with the
 * page's CSRF token and cookie); answers what the page says then.
 */
async function pressLink(url: string): Promise<string> {
  const opened = await fetch(url, { redirect: 'manual' });
  const page = await opened.text();
  const form = /<form method="post" action="([^"]+)"[^>]*>[\s\S]*?name="_csrf" value="([^"]*)"/.exec(page);
  if (!form) return `the page answered ${opened.status}: ${pageMessage(page)}`;
  const cookie = opened.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  const pressed = await fetch(new URL(unescapeHtml(form[1]!), url), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: unescapeHtml(form[2]!) }).toString(),
  });
  return pageMessage(await pressed.text());
}

/** The words of a page's message, as its reader sees them. */
const pageMessage = (page: string): string => unescapeHtml((/data-message[^>]*>([\s\S]*?)<\/p>/.exec(page)?.[1] ?? page).replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();

const unescapeHtml = (text: string): string =>
  text.replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&#x3D;', '=').replaceAll('&#x60;', '`').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/** When `email` was last reminded of the open errors of `environment` (sent or on its way), if ever. */
async function lastReminder(db: Knex, environment: string, email: string): Promise<Date | undefined> {
  const row = await db('notifications')
    .where({ kind: 'reminder', environment_id: environment, recipient: email })
    .max('planned_at as at')
    .first();
  return row?.at ? new Date(row.at) : undefined;
}

/**
 * A local receiver of signed webhooks, as a platform would run one (S43), and the account's
 * channel to it: made anew each run (its secret is shown only when made), with
 * integrations@acme.example's production subscriptions sent to it as well as by email.
 */
async function startWebhookReceiver(db: Knex) {
  const received: { body: string; headers: Record<string, string> }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers as Record<string, string> });
      response.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/herald`;
  const actor = 'operator (herald simulate)';
  await removeChannel(db, { actor, account: 'acme', name: 'demo-webhook' });
  const { secret } = await putChannel(db, { actor, account: 'acme', name: 'demo-webhook', kind: 'webhook', url, policy: { allow: ['127.0.0.1'] } });
  await putTarget(db, { actor, account: 'acme', environment: 'acme-production', email: 'integrations@acme.example', body: { email: true, channel: 'demo-webhook' } });
  return {
    url,
    received,
    /** What arrived, checked as its consumer checks it: the signature, then the event. */
    describe(): string {
      const [first] = received;
      if (!first) return '  demo-webhook received nothing within 30 s (the worker allows no 127.0.0.1? HERALD_CHANNEL_ALLOW; see "herald digest status")';
      const event = digestEventSchema.parse(new Webhook(secret!).verify(first.body, first.headers));
      return `  demo-webhook received ${event.type} v${event.version} of ${event.data.environment.id}: ${event.data.newErrors} new, ${event.data.openErrors} open, first ${event.data.firstNew[0]?.traceKey ?? 'none'}; signature verified (${first.headers['webhook-id']})`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The persons of an environment with a rhythm of their own (S41). */
async function rhythmsOf(db: Knex, environment: string) {
  const rows = await db('digest_rhythms as r').join('users as u', 'u.id', 'r.user_id').where({ 'r.environment_id': environment }).orderBy('u.email').select('r.*', 'u.email');
  return rows.map((row) => ({ email: row.email as string, rhythm: rhythmOfRow(row) }));
}

function describeCycle(summary: CycleSummary): string {
  return `cycle ${summary.number}, ${summary.newErrors} new, ${summary.resolvedErrors} resolved, ${summary.sent} email(s) sent`;
}

/** Asks `done` every `everyMs` until it answers true or `forMs` have passed; says which. */
async function poll(done: () => Promise<boolean>, pause: (ms: number) => Promise<void>, everyMs: number, forMs: number): Promise<boolean> {
  for (let waited = 0; ; waited += everyMs) {
    if (await done()) return true;
    if (waited >= forMs) return false;
    await pause(everyMs);
  }
}
