/**
 * Server-rendered pages: Handlebars templates in `server/pages/`, compiled once, inside one
 * layout. Handlebars escapes every value (S28: text from errors and names is escaped in pages as
 * in emails); only the layout's body slot takes HTML, the page's own.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emailTime } from '../email/email-frame.js';
import type { PageModels, PageName } from './page-models.js';
import { actionSourceWords } from '../contracts/email-action.js';
import { withAddressBreaks } from '../contracts/text.js';

const pagesDir = fileURLToPath(new URL('./pages/', import.meta.url));

const statusLabels: Record<string, string> = { open: 'open', retrying: 'retrying', resolved: 'resolved', auto_resolved: 'auto-resolved' };
const pages = Handlebars.create();
pages.registerHelper('eq', (a: unknown, b: unknown) => a === b);
/** A time as people read it everywhere in Herald: `2026-11-27 08:15 UTC`. */
export const pageTime = emailTime;
pages.registerHelper('time', (value: unknown) => (value instanceof Date ? pageTime(value) : ''));
pages.registerHelper('statusLabel', (status: string) => statusLabels[status] ?? status);
pages.registerHelper('resolvable', (status: string) => status === 'open' || status === 'retrying');
pages.registerHelper('encode', (value: unknown) => encodeURIComponent(String(value)));
/** Text with email addresses in it, which break on a narrow screen at their @ and dots, not mid-word. */
pages.registerHelper('breakable', (value: unknown) => new pages.SafeString(withAddressBreaks(pages.escapeExpression(String(value ?? '')))));
pages.registerHelper('fromWhere', (via: unknown) => (typeof via === 'string' && via ? ` ${actionSourceWords(via)}` : ''));
const templates = new Map<string, Handlebars.TemplateDelegate>();
const template = (name: string) => {
  let compiled = templates.get(name);
  if (!compiled) {
    compiled = pages.compile(readFileSync(`${pagesDir}${name}.hbs`, 'utf8'), { strict: false });
    templates.set(name, compiled);
  }
  return compiled;
};

/** A page: its template filled with the model, inside the layout (which shows who is signed in). */
export function renderPage<N extends PageName>(name: N, model: PageModels[N] & { csrf?: string }): string {
  return template('layout')({ ...model, body: template(name)(model) });
}
