import { flattenOneLine } from './text.js';

/** Limits on text from errors in messages, whatever carries them (S19, S20): longer text is cut with a visible marker. */
export const messageTextLimits = {
  message: 500,
  traceKey: 120,
  code: 60,
  step: 120,
  name: 120,
} as const;

/** The marker that ends cut text. */
export const cutMarker = '… [cut]';

/**
 * Makes text from an error safe to place in a message (an email, a post): on one line (line
 * breaks, controls and direction overrides cannot start a header or reorder a subject, S19, S37),
 * and cut with {@link cutMarker} past `limit`. Escaping for HTML, Slack or Teams is the renderer's job.
 */
export function messageText(value: string, limit: number): string {
  const flat = flattenOneLine(value);
  if (flat.length <= limit) return flat;
  // Never half a surrogate pair: an emoji at the cut goes whole or not at all.
  const end = /[\ud800-\udbff]/.test(flat.charAt(limit - 1)) ? limit - 1 : limit;
  return `${flat.slice(0, end)}${cutMarker}`;
}

const thresholdUnits = [
  { ms: 24 * 60 * 60_000, name: 'day' },
  { ms: 60 * 60_000, name: 'hour' },
  { ms: 60_000, name: 'minute' },
] as const;

/**
 * A reminder threshold (at least a minute) in words, in the largest unit it is a whole number of:
 * "3 days", "36 hours", "1 minute"; what is not a whole number of minutes is rounded to them.
 */
export function thresholdText(thresholdMs: number): string {
  const unit = thresholdUnits.find(({ ms }) => thresholdMs % ms === 0) ?? thresholdUnits[2];
  const count = Math.max(1, Math.round(thresholdMs / unit.ms));
  return `${count} ${unit.name}${count === 1 ? '' : 's'}`;
}
