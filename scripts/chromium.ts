/**
 * Headless Chromium for the gallery and the page and email tests: the one CHROMIUM_PATH names, or
 * else the Chromium that the npm package @sparticuz/chromium carries (unpacked into the temp folder
 * on first use), so a fresh clone needs nothing from apt.
 */
import { chromium, type Browser } from 'playwright-core';
import sparticuz from '@sparticuz/chromium';

/**
 * Root (CI) cannot use Chromium's sandbox; no background connections on a closed network. Not the
 * package's own flags: they run one process (for serverless), which ends with its first page.
 */
const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--no-zygote'];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH || (await sparticuz.executablePath()), args });
}
