/**
 * Email rendering: each MJML template is compiled once per process into HTML that still holds
 * Handlebars placeholders, then filled per recipient (Handlebars escapes every value).
 */
import Handlebars from 'handlebars';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { withAddressBreaks } from '../contracts/text.js';

/** The emails Herald sends; each has `templates/<name>.mjml` and `templates/<name>.txt.hbs`. */
export type TemplateName = 'digest' | 'connection-status' | 'sign-in' | 'assignment' | 'reminder' | 'weekly-review';

const templatesDir = fileURLToPath(new URL('./templates/', import.meta.url));

export interface RenderedEmail {
  html: string;
  text: string;
}

interface CompiledTemplate {
  html: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
}

/** The HTML parts' Handlebars: `breakable` puts line-break opportunities in the email addresses of a text (S48). */
const htmlTemplates = Handlebars.create();
htmlTemplates.registerHelper('breakable', (value: unknown) => new htmlTemplates.SafeString(withAddressBreaks(htmlTemplates.escapeExpression(String(value ?? '')))));

const compiled = new Map<TemplateName, Promise<CompiledTemplate>>();
let compilations = 0;

/** How many MJML compilations this process has done (one per template, whatever the email count). */
export function mjmlCompilations(): number {
  return compilations;
}

/** Renders an email from its template and a view model; the model's text is escaped in the HTML. */
export async function renderEmail(name: TemplateName, model: object): Promise<RenderedEmail> {
  let template = compiled.get(name);
  if (!template) {
    template = compile(name);
    compiled.set(name, template);
    template.catch(() => compiled.delete(name));
  }
  const { html, text } = await template;
  return { html: html(model), text: text(model) };
}

/**
 * A template's MJML compiled to HTML that still holds its Handlebars placeholders and block
 * helpers (a helper placed between MJML elements outside `<mj-raw>` is dropped here: S48 checks it).
 */
export async function compiledTemplate(name: TemplateName): Promise<string> {
  const source = await readFile(`${templatesDir}${name}.mjml`, 'utf8');
  // Loaded by the first compilation: MJML is almost a second and 30 MiB of a process's start, and
  // a process that sends no email (the server, most commands) never needs it.
  const { default: mjml2html } = await import('mjml');
  const result = await mjml2html(source, {
    filePath: templatesDir,
    includePath: templatesDir,
    ignoreIncludes: false,
    validationLevel: 'strict',
    keepComments: false,
  } as Parameters<typeof mjml2html>[1]);
  return result.html;
}

async function compile(name: TemplateName): Promise<CompiledTemplate> {
  compilations += 1;
  const html = await compiledTemplate(name);
  const textSource = await readFile(`${templatesDir}${name}.txt.hbs`, 'utf8');
  return {
    html: htmlTemplates.compile(html, { strict: false }),
    // Plain text is not HTML: no entity escaping there (header-safe values are prepared by the caller).
    text: Handlebars.compile(textSource, { noEscape: true }),
  };
}
