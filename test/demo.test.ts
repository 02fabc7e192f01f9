import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startTestMailServer } from './helpers/mail.js';
import { startHerald } from './helpers/herald.js';
import { applyCatalog } from '../catalog/catalog.js';
import { demoCatalogFile, readCatalogFile } from '../catalog/catalog-file.js';
import { ensureDigestWorkflows } from '../client/digests.js';
import { simulateDemo } from '../client/simulate.js';

const minutes = (n: number) => n * 60_000;

describe('the demo', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await applyCatalog(db, await readCatalogFile(demoCatalogFile));
  const mail = await startTestMailServer();
  const herald = await startHerald({ env, db, smtpUrl: mail.url });
  await ensureDigestWorkflows({ temporal: herald.temporal, db, taskQueue: herald.taskQueue, intervalMs: 15 * 60_000 });

  it('herald simulate drives the demo catalog into digests of every environment and a connection email', async () => {
    const lines: string[] = [];
    await simulateDemo({ client: herald.client, temporal: herald.temporal, log: (line) => lines.push(line), pause: async () => {} });
    expect(lines.join('\n')).toContain('acme-production: cycle 1, 3 new');

    const subjects = (to: string) => mail.to(to).map((m) => m.parsed.subject);
    // Production: the integration team follows both integrations; the one auto-resolved error never shows.
    expect(subjects('integrations@acme.example')).toEqual(
      expect.arrayContaining(['3 new errors in Acme Outfitters flows', '[Sandbox] 1 new error in Acme Outfitters flows']),
    );
    expect(subjects('owner@acme.example')).toEqual(['[Staging] 1 new error in Acme Outfitters flows']);
    // The intermittent error still in its window is nobody's news yet.
    expect(subjects('fulfillment-center@acme.example')).toEqual([]);

    // After the grace period the offline connection is emailed; after the retry window, the
    // next cycle brings the error that did not recover.
    await env.sleep(minutes(16));
    const offline = mail.to('fulfillment-center@acme.example').map((m) => m.parsed.subject ?? '');
    expect(offline.some((s) => /Warehouse SFTP.*offline/i.test(s))).toBe(true);
    expect(offline).toContain('1 new error in Acme Outfitters flows');
    expect(mail.to('fulfillment-center@acme.example').find((m) => m.parsed.subject === '1 new error in Acme Outfitters flows')?.parsed.text)
      .toMatch(/SHIP-\w+-2/);
  });
});
