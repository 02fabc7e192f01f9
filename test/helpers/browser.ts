import { afterAll } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import sparticuz from '@sparticuz/chromium';

/**
 * Headless Chromium for page and email tests, closed when the file ends: the one CHROMIUM_PATH
 * names, or else the Chromium that the npm package @sparticuz/chromium carries (unpacked into the
 * temp folder on first use), so a fresh clone needs nothing from apt.
 */
export async function launchBrowser(): Promise<Browser> {
  // Root (CI) cannot use Chromium's sandbox; no background connections on a closed network. Not the
  // package's own flags: they run one process (for serverless), which ends with its first page.
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--no-zygote'];
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || (await sparticuz.executablePath()), args });
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
