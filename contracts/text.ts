/**
 * Text that Herald stores and shows. PostgreSQL text cannot hold U+0000, and UTF-8 has no form
 * for a lone surrogate: such input is refused by name before anything is stored (S35). Text
 * shown on one line (subjects, names, messages in emails) is flattened, so no character can
 * break the line or reorder it (S19, S37).
 */

/** Why `value` cannot be stored as PostgreSQL text, or undefined when it can. */
export function unstorableText(value: string): string | undefined {
  if (value.includes('\u0000')) return 'holds a NUL character (U+0000), which cannot be stored';
  if (!value.isWellFormed()) return 'holds a lone surrogate (not valid Unicode), which cannot be stored';
  return undefined;
}

/** Why a JSON value (keys and strings, however deep) cannot be stored as jsonb, or undefined. */
export function unstorableJson(value: unknown, depth = 0): string | undefined {
  if (depth > 100) return 'is nested more than 100 levels deep';
  if (typeof value === 'string') return unstorableText(value);
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const problem = unstorableText(key) ?? unstorableJson(item, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Characters that break a line or change its direction: C0 and C1 controls (line breaks,
 * U+0085 NEL), DEL, line and paragraph separators, and the bidirectional embeddings,
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069) with the direction marks.
 */
// eslint-disable-next-line no-control-regex
const lineBreakers = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const directionControls = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** True when `value` holds a character that breaks a line (see {@link flattenOneLine}). */
export function breaksLine(value: string): boolean {
  return new RegExp(lineBreakers.source).test(value);
}

/** `value` on one line: line breakers become one space, direction controls are dropped, ends trimmed. */
export function flattenOneLine(value: string): string {
  return value.replace(lineBreakers, ' ').replace(directionControls, '').trim();
}

/**
 * Escaped HTML text with a line-break opportunity (`<wbr>`) in each email address (a word with an
 * `@`) before its `@` and its dots and after a slash: an address that does not fit its line on a
 * phone breaks there, not mid-word (S48). Give it text its template has already escaped.
 */
export function withAddressBreaks(escapedHtml: string): string {
  return escapedHtml.replace(/[^\s@]+@\S+/g, (address) => address.replace(/(?<=.)([@.])/g, '<wbr>$1').replace(/\/(?=.)/g, '/<wbr>'));
}
