/** Limits on text from errors in emails (S19, S20): longer text is cut with a visible marker. */
export const emailTextLimits = {
  message: 500,
  traceKey: 120,
  code: 60,
  step: 120,
  name: 120,
} as const;

/** The marker that ends cut text. */
export const cutMarker = '… [cut]';

/**
 * Makes text from an error safe to place in an email: control characters (line breaks included,
 * so nothing can start a header) become spaces, and text over `limit` is cut with {@link cutMarker}.
 * HTML escaping is the template's job.
 */
export function emailText(value: string, limit: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit)}${cutMarker}` : flat;
}
