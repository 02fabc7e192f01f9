/**
 * Server-rendered pages: Handlebars templates in `server/pages/`, compiled once, inside one
 * layout. Handlebars escapes every value (S28: text from errors and names is escaped in pages as
 * in emails); only the layout's body slot takes HTML, the page's own.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pagesDir = fileURLToPath(new URL('./pages/', import.meta.url));
const templates = new Map<string, Handlebars.TemplateDelegate>();
const template = (name: string) => {
  let compiled = templates.get(name);
  if (!compiled) {
    compiled = Handlebars.compile(readFileSync(`${pagesDir}${name}.hbs`, 'utf8'), { strict: false });
    templates.set(name, compiled);
  }
  return compiled;
};

/** A page: its template filled with the model, inside the layout (which shows who is signed in). */
export function renderPage(name: string, model: { title: string } & Record<string, unknown>): string {
  return template('layout')({ ...model, body: template(name)(model) });
}
