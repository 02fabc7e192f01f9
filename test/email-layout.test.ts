/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
import { describe, expect, it } from 'vitest';
import { launchBrowser, saveScreenshot } from './helpers/browser.js';
import { mkdirSync } from 'node:fs';
import { digestEmail } from '../email/digest-email.js';
import { renderEmail } from '../email/render.js';
import type { DigestErrorRow } from '../stores/digest-store.js';
import { reminderEmailJob } from '../email/reminder-email.js';
import { assignmentEmailJob } from '../email/assignment-email.js';
import { connectionEmailJob } from '../email/connection-email.js';
import { unsubscribeLinks } from '../email/unsubscribe.js';
import { emailActionLinks } from '../email/email-actions.js';

const artifacts = new URL('../test-artifacts/email-layout/', import.meta.url).pathname;

const appUrl = 'https://app.herald.test';
const unsubscribe = unsubscribeLinks(appUrl, 'a-secret-for-the-layout-test-only');
const production = { id: 'acme-production', name: 'Production', production: true };
const account = { name: 'Acme Outfitters' };
const longTraceKey = (i: number) => (i % 7 === 0 ? `ORDER-${'9'.repeat(90)}-${i}` : `SO-2026-${10_000 + i}`);
const longMessage = (i: number) =>
  i % 5 === 0 ? `Payload rejected: ${'x'.repeat(300)}` : `Customer "C-${i}" not found in the ERP; the sales order was not created and will be retried at the next run`;

/** A digest as a busy user gets it: many errors in several flows, long unbroken text included, and errors folded under two offline connections. */
async function busyDigestHtml(): Promise<string> {
  const flows = ['Orders to ERP sales orders', 'Customers to ERP accounts', 'Shipments to warehouse pick lists', 'Refunds to payment gateway'];
  const rows: DigestErrorRow[] = Array.from({ length: 50 }, (_, i) => ({
    id: 5_000 + i,
    flowId: `flow-${i % 4}`,
    flowName: flows[i % 4]!,
    integrationName: 'Storefront to ERP',
    traceKey: longTraceKey(i),
    message: longMessage(i),
    code: i % 3 === 0 ? 'NOT_FOUND' : 'VALIDATION',
    step: 'Create sales order',
    occurredAt: new Date(Date.UTC(2026, 10, 27, 8, i)),
    resolvedAt: null,
    resolutionReason: null,
    resolvedBy: null,
    assignee: i % 9 === 0 ? 'integrations@acme.example' : null,
    flowCount: 60,
  }));
  rows.sort((a, b) => a.flowName.localeCompare(b.flowName) || a.id - b.id);
  const email = digestEmail(
    { cycleId: 7, number: 7, environment: { id: 'acme-production', name: 'Production', production: true }, account: { id: 'acme', name: 'Acme Outfitters' } },
    { newCount: 240, resolvedCount: 0, openCount: 612 },
    rows,
    [],
    appUrl,
    [
      { connection: { id: 'erp-api', name: 'ERP SOAP API (EU-West, primary cluster)' }, errors: 412, flows: 6, since: new Date(Date.UTC(2026, 10, 27, 10, 42)), foldedInFlows: 412 },
      { connection: { id: 'warehouse-sftp', name: 'Warehouse SFTP' }, errors: 1, flows: 1, since: new Date(Date.UTC(2026, 10, 27, 11, 5)), foldedInFlows: 1 },
    ],
  );
  return (await renderEmail('digest', email.model)).html;
}

/** The other emails, as their jobs compose them: each with many or long entries. */
async function otherEmails(): Promise<{ name: string; html: string; first: string }[]> {
  const errors = Array.from({ length: 50 }, (_, i) => ({
    id: 7_000 + i,
    traceKey: longTraceKey(i),
    message: longMessage(i),
    flowName: ['Orders to ERP sales orders', 'Shipments to warehouse pick lists'][i % 2]!,
    reportedAt: new Date(Date.UTC(2026, 10, 20, 8, i)),
    assignee: i % 4 === 0 ? 'integrations@acme.example' : null,
  }));
  const reminder = reminderEmailJob(
    { deliveryId: 1, publicId: null, userId: 3, recipient: 'ops@acme.example', environment: production, account, errors, count: 73, thresholdMs: 3 * 24 * 60 * 60_000, canAct: true },
    appUrl,
    'layout',
    unsubscribe,
    emailActionLinks(appUrl, 'a-secret-for-the-layout-test-only'),
  );
  const assignment = assignmentEmailJob(
    { deliveryId: 2, publicId: null, userId: 3, recipient: 'ops@acme.example', assignedBy: 'integrations@acme.example', environment: production, account, errors: errors.slice(0, 8), canAct: true },
    appUrl,
    'layout',
    emailActionLinks(appUrl, 'a-secret-for-the-layout-test-only'),
  );
  const offline = connectionEmailJob(
    {
      deliveryId: 3,
      publicId: null,
      userId: 3,
      recipient: 'ops@acme.example',
      environment: production,
      account,
      connection: { id: 'erp-api', name: 'ERP SOAP API (EU-West, primary cluster)' },
      status: 'offline',
      reason: `TLS handshake timeout: ${'certificate-chain-'.repeat(20)}`,
      changedAt: new Date(Date.UTC(2026, 10, 27, 10, 42)),
      usedBy: [
        { integration: 'Storefront to ERP', flows: ['Orders to ERP sales orders', 'Customers to ERP accounts', 'Refunds to ERP credit notes'] },
        { integration: 'ERP to Warehouse', flows: ['Shipments to warehouse pick lists'] },
      ],
      wanted: true,
      errorsSince: 412,
    },
    appUrl,
    'layout',
    unsubscribe,
  );
  return [
    { name: 'reminder', html: (await reminder.compose()).html, first: '[data-error="still-open"]' },
    { name: 'assignment', html: (await assignment.compose()).html, first: '[data-error]' },
    { name: 'connection-offline', html: (await offline.compose()).html, first: '[data-status]' },
  ];
}

describe('the digest email in a browser', async () => {
  const html = await busyDigestHtml();
  const others = await otherEmails();
  const browser = await launchBrowser();
  mkdirSync(artifacts, { recursive: true });

  for (const screen of [
    { name: 'phone', width: 375, height: 740 },
    { name: 'desktop', width: 1280, height: 800 },
  ]) {
    it(`lays out on a ${screen.name}-width screen (${screen.width}px): no horizontal overflow, summary at the top`, async () => {
      const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
      await page.setContent(html);
      const layout = await page.evaluate(() => {
        const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect();
        return {
          scrollWidth: document.documentElement.scrollWidth,
          viewportWidth: window.innerWidth,
          summary: ['new', 'resolved', 'open'].map((kind) => {
            const element = document.querySelector(`[data-summary="${kind}"]`)!;
            const { top, bottom, left, right } = element.getBoundingClientRect();
            return { kind, text: element.textContent?.trim(), top, bottom, left, right };
          }),
          lastRowBottom: box('tr[data-error="new"]:last-of-type').bottom,
        };
      });
      await saveScreenshot(page, `${artifacts}digest-${screen.name}.png`);
      await page.close();

      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.viewportWidth);
      expect(layout.summary.map((s) => [s.kind, s.text])).toEqual([['new', '240'], ['resolved', '0'], ['open', '612']]);
      for (const count of layout.summary) {
        expect(count.top).toBeGreaterThanOrEqual(0);
        expect(count.bottom).toBeLessThanOrEqual(screen.height);
        expect(count.left).toBeGreaterThanOrEqual(0);
        expect(count.right).toBeLessThanOrEqual(screen.width);
      }
      expect(layout.lastRowBottom).toBeGreaterThan(screen.height);
    });

    it(`puts the offline connections' lines of a digest (S30) on a ${screen.name}-width screen without overflow`, async () => {
      const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
      await page.setContent(html);
      const lines = await page.evaluate(() =>
        Array.from(document.querySelectorAll('[data-offline]')).map((line) => {
          const { left, right } = line.getBoundingClientRect();
          return { text: line.textContent?.replace(/\s+/g, ' ').trim(), left, right };
        }),
      );
      await page.close();
      expect(lines.map((l) => l.text)).toEqual([
        '412 errors in 6 flows using ERP SOAP API (EU-West, primary cluster) while it was offline since 2026-11-27 10:42 UTC',
        '1 error in 1 flow using Warehouse SFTP while it was offline since 2026-11-27 11:05 UTC',
      ]);
      for (const line of lines) {
        expect(line.left).toBeGreaterThanOrEqual(0);
        expect(line.right).toBeLessThanOrEqual(screen.width);
      }
    });

    it(`lays out the reminder (S31), assignment (S32) and offline (S30) emails on a ${screen.name}-width screen: no overflow, their first entry on the first screen`, async () => {
      for (const email of others) {
        const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
        await page.setContent(email.html);
        const layout = await page.evaluate((first) => {
          const entry = document.querySelector(first);
          const box = entry?.getBoundingClientRect();
          return {
            scrollWidth: document.documentElement.scrollWidth,
            viewportWidth: window.innerWidth,
            first: box && { top: box.top, bottom: box.bottom, left: box.left, right: box.right },
          };
        }, email.first);
        await saveScreenshot(page, `${artifacts}${email.name}-${screen.name}.png`);
        await page.close();
        expect({ email: email.name, overflow: layout.scrollWidth > layout.viewportWidth }).toEqual({ email: email.name, overflow: false });
        expect(layout.first, `${email.name}: ${email.first}`).toBeDefined();
        expect(layout.first!.left).toBeGreaterThanOrEqual(0);
        expect(layout.first!.right).toBeLessThanOrEqual(screen.width);
        expect(layout.first!.top, `${email.name}: its first entry starts within the first screen`).toBeLessThan(screen.height);
      }
    });
  }
});
