/**
 * `npm run gallery`: every message Herald sends and every page people see (S48), rendered from
 * fixtures through the production code into `gallery/`, with screenshots at 375 and 1280 px in
 * headless Chromium and one index page; and the README's pictures, made from the same renderings
 * so that they cannot go stale.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.js';
import Handlebars from 'handlebars';
import { galleryChannelMessages, galleryEmails, type GalleryMessage } from './gallery/messages.js';
import { galleryPages } from './gallery/pages.js';
import { jsonWords, slackWords, teamsWords } from './gallery/reading.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}gallery/`;
const pictures = `${root}docs/pictures/`;
const widths = [375, 1280] as const;

/** The README's pictures: which gallery item, at which width. */
const readmePictures = [
  { item: 'digest-grouped-email', width: 640, file: 'digest-email.png' },
  { item: 'errors-grouped', width: 1280, file: 'errors-page.png' },
];

interface Shown {
  id: string;
  title: string;
  group: string;
  files: { label: string; href: string }[];
  shots: { width: number; href: string }[];
  words?: string;
}

const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}shots`, { recursive: true });
mkdirSync(pictures, { recursive: true });

const browser = await launchChromium();
const tab = await browser.newPage();

/** Writes an HTML document and its screenshots; answers the index's entry. */
async function shoot(id: string, html: string, widthsOf: readonly number[] = widths): Promise<Shown['shots']> {
  const shots: Shown['shots'] = [];
  for (const width of widthsOf) {
    await tab.setViewportSize({ width, height: 900 });
    await tab.setContent(html, { waitUntil: 'load' });
    const href = `shots/${id}-${width}.png`;
    await tab.screenshot({ path: `${out}${href}`, fullPage: true });
    shots.push({ width, href });
  }
  return shots;
}

const shown: Shown[] = [];
const emails = await galleryEmails();
for (const email of emails) {
  writeFileSync(`${out}${email.id}.html`, email.html!);
  writeFileSync(`${out}${email.id}.txt`, `Subject: ${email.subject}\n\n${email.text}`);
  shown.push({
    id: email.id,
    title: `${email.kind}, ${email.state}: “${email.subject}”`,
    group: 'Emails',
    files: [
      { label: 'HTML', href: `${email.id}.html` },
      { label: 'text', href: `${email.id}.txt` },
    ],
    shots: await shoot(email.id, email.html!),
  });
}

const wordsOf = (message: GalleryMessage) =>
  message.transport === 'slack' ? slackWords(message.body as { text: string; blocks: object[] }) : message.transport === 'teams' ? teamsWords(message.body!) : jsonWords(message.body);
const transportGroups = { email: 'Emails', slack: 'Slack', teams: 'Teams', webhook: 'Webhooks', pagerduty: 'PagerDuty' } as const;
for (const message of galleryChannelMessages()) {
  writeFileSync(`${out}${message.id}.json`, JSON.stringify(message.body, null, 2));
  shown.push({ id: message.id, title: `${message.kind}, ${message.state}`, group: transportGroups[message.transport], files: [{ label: 'JSON', href: `${message.id}.json` }], shots: [], words: wordsOf(message) });
}

for (const page of galleryPages()) {
  writeFileSync(`${out}page-${page.id}.html`, page.html);
  shown.push({ id: page.id, title: page.title, group: 'Pages', files: [{ label: 'HTML', href: `page-${page.id}.html` }], shots: await shoot(`page-${page.id}`, page.html) });
}

for (const picture of readmePictures) {
  const email = emails.find((e) => e.id === picture.item);
  const html = email?.html ?? galleryPages().find((p) => p.id === picture.item)?.html;
  if (!html) throw new Error(`the README's picture ${picture.file} names ${picture.item}, which the gallery does not have`);
  await tab.setViewportSize({ width: picture.width, height: 900 });
  await tab.setContent(html, { waitUntil: 'load' });
  await tab.screenshot({ path: `${pictures}${picture.file}`, fullPage: true });
}
await browser.close();

const index = Handlebars.compile(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald gallery</title>
<style>
  body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #1f2933; background: #f0f4f8; }
  section { margin-bottom: 32px; }
  article { background: #fff; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
  .shots { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
  .shots img { border: 1px solid #cbd2d9; max-height: 420px; }
  .shots figure { margin: 0; }
  pre { white-space: pre-wrap; background: #f5f7fa; padding: 8px; font-size: 13px; max-height: 260px; overflow: auto; }
</style></head>
<body>
<h1>Herald gallery</h1>
<p>Every message Herald sends and every page people see, rendered from fixtures through Herald's own code on {{made}}. Screenshots at 375 and 1280 px; Slack and Teams as the words their readers see, beside the JSON Herald posts.</p>
<nav>{{#each groups}}<a href="#{{name}}">{{name}} ({{items.length}})</a>{{#unless @last}} · {{/unless}}{{/each}}</nav>
{{#each groups}}
<section id="{{name}}"><h2>{{name}}</h2>
{{#each items}}
<article id="{{id}}"><h3>{{title}}</h3>
<p>{{#each files}}<a href="{{href}}">{{label}}</a>{{#unless @last}} · {{/unless}}{{/each}}</p>
{{#if words}}<pre>{{words}}</pre>{{/if}}
{{#if shots.length}}<div class="shots">{{#each shots}}<figure><a href="{{href}}"><img src="{{href}}" alt="{{../title}} at {{width}} px" width="{{#if (eq width 375)}}188{{else}}480{{/if}}"></a><figcaption>{{width}} px</figcaption></figure>{{/each}}</div>{{/if}}
</article>
{{/each}}
</section>
{{/each}}
</body></html>`);
Handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
const groups = ['Emails', 'Slack', 'Teams', 'Webhooks', 'Pages'].map((name) => ({ name, items: shown.filter((s) => s.group === name) }));
writeFileSync(`${out}index.html`, index({ groups, made: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC' }));
const shots = shown.reduce((n, s) => n + s.shots.length, 0);
console.log(`gallery: ${shown.length} messages and pages, ${shots} screenshots, in ${((Date.now() - started) / 1000).toFixed(1)} s: ${out}index.html (README pictures in docs/pictures/)`);
