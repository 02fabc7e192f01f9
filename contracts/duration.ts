import ms from 'ms';

/**
 * Reads a duration the way Temporal's SDK does (the `ms` package): `250ms`, `90s`, `15m`, `1h`,
 * `2 days`, or a bare number of milliseconds. Undefined unless it names a whole, non-negative
 * number of milliseconds.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim() === '' ? undefined : ms(text.trim() as ms.StringValue) as number | undefined;
  return value !== undefined && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A duration in words, to the unit that reads best ("3 hours", "2 days", "45 seconds"). */
export const durationWords = (seconds: number): string => (seconds < 1 ? 'under a second' : ms(Math.round(seconds * 1000), { long: true }));
