import { afterAll } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.js';

/** Headless Chromium (scripts/chromium.ts), closed when the file ends. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await launchChromium();
  afterAll(() => browser.close());
  return browser;
}

/**
 * Saves a full-page screenshot for a person to look at (an artifact, not a check). Chromium on a
 * busy machine now and then answers "Unable to capture screenshot": it is tried once more.
 */
export async function saveScreenshot(page: Page, path: string): Promise<void> {
  try {
    await page.screenshot({ path, fullPage: true });
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.screenshot({ path, fullPage: true });
  }
}
