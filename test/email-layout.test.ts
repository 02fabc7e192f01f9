/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
import { afterAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { digestEmail } from '../email/digest-email.js';
import { renderEmail } from '../email/render.js';
import type { DigestErrorRow } from '../stores/digest-store.js';

/** Debian's chromium (installed by .ci/run), or the browser named by CHROMIUM_PATH. */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = new URL('../test-artifacts/email-layout/', import.meta.url).pathname;

/** A digest as a busy user gets it: many errors in several flows, long unbroken text included. */
async function busyDigestHtml(): Promise<string> {
  const flows = ['Orders to ERP sales orders', 'Customers to ERP accounts', 'Shipments to warehouse pick lists', 'Refunds to payment gateway'];
  const rows: DigestErrorRow[] = Array.from({ length: 50 }, (_, i) => ({
    id: 5_000 + i,
    flowId: `flow-${i % 4}`,
    flowName: flows[i % 4]!,
    integrationName: 'Storefront to ERP',
    traceKey: i % 7 === 0 ? `ORDER-${'9'.repeat(90)}-${i}` : `SO-2026-${10_000 + i}`,
    message:
      i % 5 === 0
        ? `Payload rejected: ${'x'.repeat(300)}`
        : `Customer "C-${i}" not found in the ERP; the sales order was not created and will be retried at the next run`,
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
    'https://app.herald.test',
  );
  return (await renderEmail('digest', email.model)).html;
}

describe('the digest email in a browser', async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: install Debian's chromium (as .ci/run does) or set CHROMIUM_PATH`);
  }
  const html = await busyDigestHtml();
  // Root (CI) cannot use Chromium's sandbox.
  const browser: Browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  afterAll(() => browser.close());
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
      await page.screenshot({ path: `${artifacts}digest-${screen.name}.png`, fullPage: true });
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
  }
});
