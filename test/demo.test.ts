import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer } from './helpers/mail.js';
import { startHerald } from './helpers/herald.js';
import { applyCatalog } from '../catalog/catalog.js';
import { demoCatalogFile, readCatalogFile } from '../catalog/catalog-file.js';
import { ensureDigestWorkflows } from '../admin/digests.js';
import { simulateDemo } from '../cli/simulate.js';
import { startServer } from './helpers/server.js';
import { testSecret } from './helpers/herald.js';

const minutes = (n: number) => n * 60_000;

/** From `now` to the first quarter hour between 10:00 and 18:00 in Berlin (none when it is one). */
function untilBerlinDaytime(now: number): number {
  const hour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: 'numeric', hourCycle: 'h23' });
  let at = now;
  while (Number(hour.format(at)) < 10 || Number(hour.format(at)) >= 18) at += minutes(15);
  return at - now;
}

describe('the demo', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await applyCatalog(db, await readCatalogFile(demoCatalogFile));
  const mail = await startTestMailServer();
  const herald = await startHerald({ env, db, smtpUrl: mail.url, channelAllow: '127.0.0.1' });
  // The demo's owner keeps quiet hours in production (22:00 to 07:00 in Berlin), which hold what is
  // assigned to them (S49): the simulation runs in their day, whatever the hour of this run.
  await env.sleep(untilBerlinDaytime(await env.currentTimeMs()));
  await ensureDigestWorkflows({ temporal: herald.temporal, db, taskQueue: herald.taskQueue, intervalMs: 15 * 60_000, scope: 'new' });
  // Herald's server, where the digest's reader follows its links (the emails' links name the worker's HERALD_APP_URL: the simulation is told this one's).
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue });

  it('herald simulate drives the demo catalog into digests of every environment, an assignment, an outage folded into one line, and a reminder', async () => {
    const lines: string[] = [];
    // The simulation's waits (for the connection's grace period, for an error to be left open long enough) skip time here.
    await simulateDemo({ client: herald.client, temporal: herald.temporal, db, log: (line) => lines.push(line), pause: (ms) => env.sleep(ms), emailLinks: { appUrl: server.url, secret: testSecret } });
    const output = lines.join('\n');
    expect(output).toContain('acme-production: cycle 1, 15 new');
    // The digest's reader resolved one error and snoozed a group from the email (S45, S46) on the server.
    expect(output).toMatch(/integrations@acme\.example presses "Resolve" beside SO-\w+-1002 in their digest: 1 error resolved: "Price list "EU-2026" is missing for SKU TENT-4P" \(trace key SO-\w+-1002\) in Orders to ERP sales orders\.$/m);
    expect(output).toMatch(/presses "Snooze all for a day" beside the customers not found: 13 errors snoozed for a day: 13 open errors like "Customer ‹value› not found in ERP" in Orders to ERP sales orders\.$/m);
    expect(output).toMatch(/acme-production: cycle 2, 3 new, 1 resolved, 2 email\(s\) sent; the digest folds them/);
    expect(output).toMatch(/acme-staging: SO-\w+-S1 is open past Staging's threshold \(remindAfter in the catalog\): (1 user\(s\) reminded, 1 email\(s\) sent|owner@acme.example reminded by the digest's own look)/);
    // The production digest reached the simulation's signed webhook beside the email (S43).
    expect(output).toMatch(/demo-webhook received herald\.digest v1 of acme-production: 15 new, \d+ open, first \S+; signature verified \(msg_[0-9a-f-]{36}\)/);

    const subjects = (to: string) => mail.to(to).map((m) => m.parsed.subject ?? '');
    // Production: the integration team follows both integrations; the one auto-resolved error never shows.
    expect(subjects('integrations@acme.example')).toEqual(
      expect.arrayContaining(['15 new errors in Acme Outfitters flows', '[Sandbox] 1 new error in Acme Outfitters flows']),
    );
    // Thirteen customers not found read as one line (S42).
    const production = mail.to('integrations@acme.example').find((m) => m.parsed.subject === '15 new errors in Acme Outfitters flows');
    expect(production!.parsed.text).toContain('13 × Customer ‹value› not found in ERP');
    // The owner follows staging only, and is told of what was assigned to them, and reminded.
    expect(subjects('owner@acme.example')).toEqual(
      expect.arrayContaining([
        'integrations@acme.example assigned you 1 error in Acme Outfitters flows',
        '[Staging] 1 new error in Acme Outfitters flows',
        '[Staging] 1 error still open in Acme Outfitters flows',
      ]),
    );
    const reminder = mail.to('owner@acme.example').find((m) => /still open/.test(m.parsed.subject ?? ''));
    expect(reminder!.parsed.text).toMatch(/SO-\w+-S1/);

    // Warehouse SFTP went down: its subscribers are told once its grace period ended, and the errors of
    // its flow while it is down come as one line, not one by one.
    const fulfillment = mail.to('fulfillment-center@acme.example');
    expect(fulfillment.some((m) => /Warehouse SFTP.*offline/i.test(m.parsed.subject ?? ''))).toBe(true);
    const folded = fulfillment.find((m) => m.parsed.text?.includes('using Warehouse SFTP while it was offline'));
    expect(folded!.parsed.text).toMatch(/3 errors in 1 flow using Warehouse SFTP while it was offline since/);
    expect(folded!.parsed.text).not.toMatch(/SHIP-\w+-1[123]/);
    // That digest also tells who resolved the error, and how.
    const told = mail.to('integrations@acme.example').find((m) => m.parsed.text?.includes('using Warehouse SFTP while it was offline'));
    expect(told!.parsed.text).toContain('resolved by integrations@acme.example from an email');

    // After the retry window, the next cycle brings the intermittent error that did not recover.
    mail.clear();
    await env.sleep(minutes(16));
    const later = mail.to('fulfillment-center@acme.example').find((m) => /new error/.test(m.parsed.subject ?? ''));
    expect(later?.parsed.text).toMatch(/SHIP-\w+-2\b/);
  });
});
