/// <reference lib="dom" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
/**
 * What people read reads right (S48): every message of the gallery (each kind, transport and
 * state) and every page, read as its reader reads it — the visible words of the HTML in Chromium
 * at 375 px, the text part, what Slack and Teams show — and every link followed to a route of the
 * server.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import type { Page } from 'playwright-core';
import { launchBrowser } from './helpers/browser.js';
import { galleryAppUrl, galleryChannelMessages, galleryEmails, type GalleryMessage } from '../scripts/gallery/messages.js';
import { galleryPages, type GalleryPage } from '../scripts/gallery/pages.js';
import { blockHelpers, jsonWords, readingProblems, slackWords, teamsWords } from '../scripts/gallery/reading.js';
import { compiledTemplate, type TemplateName } from '../email/render.js';
import { buildServer } from '../server/app.js';
import { connectDatabase } from '../stores/database.js';
import { HeraldClient } from '../client/herald-client.js';
import { createSmtpMailer } from '../email/mailer.js';

const templatesDir = fileURLToPath(new URL('../email/templates/', import.meta.url));

/** What a reader of one HTML document at `width` px sees: its visible words, how wide it is, where its links and forms lead. */
interface Reading {
  words: string;
  scrollWidth: number;
  /** Email addresses a line ends inside a word of ("ana@acme.exampl|e"), as laid out. */
  brokenAddresses: string[];
  links: string[];
  forms: { method: string; action: string }[];
}

let page: Page;
let emails: GalleryMessage[];
let pages: GalleryPage[];

beforeAll(async () => {
  const browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 375, height: 800 } });
  emails = await galleryEmails();
  pages = galleryPages();
});

async function read(html: string): Promise<Reading> {
  await page.setContent(html, { waitUntil: 'load' });
  return page.evaluate(() => ({
    words: document.body.innerText,
    scrollWidth: document.documentElement.scrollWidth,
    // Where a line ends inside an address: fine before its @ or a dot, or after a hyphen or a slash; else mid-word.
    brokenAddresses: (() => {
      const broken: string[] = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const range = document.createRange();
      const top = (node: Text, at: number) => {
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        return range.getClientRects()[0]?.top;
      };
      for (let node = walker.nextNode() as Text | null; node; node = walker.nextNode() as Text | null) {
        for (const found of node.data.matchAll(/[^\s@()<>,;:]+@[^\s@()<>,;:]+\.[a-z]{2,}/giu)) {
          const text = found[0];
          for (let i = 1; i < text.length; i += 1) {
            const [before, after] = [top(node, found.index + i - 1), top(node, found.index + i)];
            if (before === undefined || after === undefined || after <= before) continue;
            if (!'@.'.includes(text[i]!) && !'-/'.includes(text[i - 1]!)) broken.push(`${text.slice(0, i)}|${text.slice(i)}`);
          }
        }
      }
      return broken;
    })(),
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.getAttribute('href')!),
    forms: Array.from(document.querySelectorAll("form")).map((f) => ({ method: (f.getAttribute('method') ?? 'get').toUpperCase(), action: f.getAttribute('action') ?? '' })),
  }));
}

describe('the gallery', () => {
  it('S48: every MJML template keeps each block helper through its compile', async () => {
    const names = readdirSync(templatesDir).filter((f) => f.endsWith('.mjml') && !f.startsWith('_')).map((f) => f.slice(0, -'.mjml'.length) as TemplateName);
    expect(names.length).toBeGreaterThanOrEqual(5);
    const lost: string[] = [];
    for (const name of names) {
      const source = readFileSync(`${templatesDir}${name}.mjml`, 'utf8');
      const partials = [...source.matchAll(/mj-include path="\.\/([^"]+)"/gu)].map((m) => readFileSync(`${templatesDir}${m[1]}`, 'utf8')).join('\n');
      const before = blockHelpers(source + partials);
      const after = blockHelpers(await compiledTemplate(name));
      if (before.opened !== after.opened || before.closed !== after.closed) lost.push(`${name}: ${JSON.stringify(before)} before the compile, ${JSON.stringify(after)} after`);
    }
    expect(lost).toEqual([]);
  });

  it('S48: every email reads right, in its HTML at 375 px and in its text part, and fits the screen', async () => {
    expect(emails.map((e) => e.id)).toEqual(expect.arrayContaining(['digest-default-rhythm-email', 'digest-grouped-email', 'digest-30000-errors-email', 'sign-in-one-account-email']));
    const problems: string[] = [];
    for (const email of emails) {
      const reading = await read(email.html!);
      problems.push(...readingProblems(reading.words).map((p) => `${email.id} (HTML): ${p}`));
      problems.push(...reading.brokenAddresses.map((a) => `${email.id}: an address broken mid-word at 375 px: ${a}`));
      problems.push(...readingProblems(email.text!).map((p) => `${email.id} (text): ${p}`));
      problems.push(...readingProblems(email.subject!).map((p) => `${email.id} (subject): ${p}`));
      if (reading.scrollWidth > 375) problems.push(`${email.id}: ${reading.scrollWidth} px wide at 375 px`);
    }
    expect(problems).toEqual([]);
  });

  it('S48: a default-rhythm digest says its counts and no rhythm line; a grouped row carries a real message of its group', async () => {
    const byId = new Map(emails.map((e) => [e.id, e]));
    const defaultRhythm = await read(byId.get('digest-default-rhythm-email')!.html!);
    expect(defaultRhythm.words).toMatch(/3\s+new errors\s+0\s+resolved\s+18\s+open in total/u);
    expect(defaultRhythm.words).not.toMatch(/Since your last digest/u);
    const daily = await read(byId.get('digest-daily-rhythm-email')!.html!);
    expect(daily.words).toContain('Since your last digest: they come daily at 08:00 (Europe/Berlin).');

    const grouped = byId.get('digest-grouped-email')!;
    for (const words of [(await read(grouped.html!)).words, grouped.text!]) {
      expect(words).toContain('3 × A3 attempt ‹id› failed x1');
      expect(words).toContain('A3 attempt 3 failed x1');
    }
    const bulk = byId.get('digest-30000-errors-email')!;
    expect((await read(bulk.html!)).words).toContain('bulk error 4711 on record 30000');
  });

  it('S48: every page reads right and fits a 375 px screen', async () => {
    const problems: string[] = [];
    for (const shown of pages) {
      const reading = await read(shown.html);
      problems.push(...readingProblems(reading.words).map((p) => `${shown.id}: ${p}`));
      problems.push(...reading.brokenAddresses.map((a) => `${shown.id}: an address broken mid-word at 375 px: ${a}`));
      if (reading.scrollWidth > 375) problems.push(`${shown.id}: ${reading.scrollWidth} px wide at 375 px`);
    }
    expect(problems).toEqual([]);
  });

  it('S48: the sign-in confirm page shows nobody signed in and offers one button: Sign in', async () => {
    const confirm = pages.find((p) => p.id === 'sign-in-confirm')!;
    await page.setContent(confirm.html);
    expect(await page.locator('header').innerText()).not.toMatch(/Sign out|My messages|My emails/u);
    expect(await page.$$eval('button, input[type=submit]', (buttons) => buttons.map((b) => (b as HTMLElement).innerText.trim()))).toEqual(['Sign in']);
  });

  it('S48: every Slack, Teams, webhook and PagerDuty message reads right', () => {
    const messages = galleryChannelMessages();
    expect(new Set(messages.map((m) => m.transport))).toEqual(new Set(['slack', 'teams', 'webhook', 'pagerduty']));
    expect(messages.filter((m) => m.transport === 'pagerduty').map((m) => m.id)).toEqual(['digest-grouped-pagerduty', 'connection-offline-pagerduty', 'connection-online-pagerduty']);
    const problems: string[] = [];
    for (const message of messages) {
      const words =
        message.transport === 'slack' ? slackWords(message.body as { text: string; blocks: object[] }) : message.transport === 'teams' ? teamsWords(message.body!) : jsonWords(message.body);
      problems.push(...readingProblems(words).map((p) => `${message.id}: ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it('S48: Slack shows the formatting characters of an error\'s text as written, inside its link', () => {
    const slack = galleryChannelMessages().find((m) => m.id === 'digest-grouped-slack')!;
    const linked = JSON.stringify(slack.body).match(/<http[^|]+\|([^>]*)>/gu)!.find((link) => link.includes('Müller'))!;
    // The link's label is bold as a whole; the error's own * _ ~ ` do not open formatting of their own.
    expect(linked).not.toMatch(/[*_~`](?!\u200b)/u);
  });

  it('S48: every link and form of every message and page leads to a route of the server', async () => {
    const app = await buildServer({
      // Nothing is asked of the database, Temporal or the mail server: the router only is read.
      db: connectDatabase('postgres://gallery@127.0.0.1:1/gallery'),
      client: new HeraldClient({ temporal: new Client(), taskQueue: 'gallery' }),
      people: { mailer: createSmtpMailer({ smtpUrl: 'smtp://127.0.0.1:1', from: 'herald@gallery.test' }), appUrl: galleryAppUrl, secret: 'x'.repeat(32) },
      codecOrigins: [],
    });
    await app.ready();
    const unknown: string[] = [];
    const follow = (where: string, method: string, href: string) => {
      if (href === '') return void unknown.push(`${where}: ${method} an empty link`);
      if (href.startsWith('mailto:')) return;
      const url = new URL(href, galleryAppUrl);
      if (url.origin !== galleryAppUrl || !app.findRoute({ method, url: url.pathname })) unknown.push(`${where}: ${method} ${href}`);
    };
    for (const email of emails) {
      const reading = await read(email.html!);
      reading.links.forEach((href) => follow(email.id, 'GET', href));
      for (const href of email.text!.match(/https?:\/\/\S+/gu) ?? []) follow(`${email.id} (text)`, 'GET', href);
    }
    for (const shown of pages) {
      const reading = await read(shown.html);
      reading.links.forEach((href) => follow(shown.id, 'GET', href));
      reading.forms.forEach((form) => follow(shown.id, form.method, form.action || '/'));
    }
    for (const message of galleryChannelMessages()) {
      for (const href of JSON.stringify(message.body).match(/https?:\/\/[^"|>\s]+/gu) ?? []) if (href.startsWith(galleryAppUrl)) follow(message.id, 'GET', href);
    }
    await app.close();
    expect(unknown).toEqual([]);
  });
});
