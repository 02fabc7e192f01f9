import { flattenOneLine } from '../contracts/text.js';

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
 * Makes text from an error safe to place in an email: on one line (line breaks, controls and
 * direction overrides cannot start a header or reorder a subject, S19, S37), and cut with
 * {@link cutMarker} past `limit`. HTML escaping is the template's job.
 */
export function emailText(value: string, limit: number): string {
  const flat = flattenOneLine(value);
  if (flat.length <= limit) return flat;
  // Never half a surrogate pair: an emoji at the cut goes whole or not at all.
  const end = /[\ud800-\udbff]/.test(flat.charAt(limit - 1)) ? limit - 1 : limit;
  return `${flat.slice(0, end)}${cutMarker}`;
}
