/**
 * Trends in emails (S47): bars of errors drawn with table cells of a height and a colour (no
 * image, no SVG: what Gmail, Outlook and Apple Mail all draw), the same as block characters in
 * the text part. A digest shows each flow's last 24 hours, with a word on how the day compares
 * with the day before; a weekly review, its seven days.
 */
import { DateTime } from 'luxon';

const blocks = '▁▂▃▄▅▆▇█';

/** One bar: a bar of no error is a 1-pixel grey line. */
export interface TrendBar {
  height: number;
  color: string;
}

/** Bars of these counts, the busiest `tallest` pixels high. */
function barsOf(counts: number[], tallest: number): TrendBar[] {
  const most = Math.max(1, ...counts);
  return counts.map((count) => (count === 0 ? { height: 1, color: '#cbd2d9' } : { height: Math.max(3, Math.round((count / most) * tallest)), color: '#c81e1e' }));
}

/** The same counts as block characters, a dot for none. */
function sparklineOf(counts: number[]): string {
  const most = Math.max(1, ...counts);
  return counts.map((count) => (count === 0 ? '·' : blocks[Math.min(blocks.length - 1, Math.ceil((count / most) * blocks.length) - 1)])).join('');
}

export interface FlowTrendBars {
  /** Oldest first. */
  bars: TrendBar[];
  /** The same hours as block characters, for the text part. */
  sparkline: string;
  /** "12 in the last 24 hours, rising (5 the day before)". */
  words: string;
}

/** The trend of a flow from its errors reported per hour: 48 hours, the day before first, the last hour last. */
export function flowTrendBars(hourly: number[]): FlowTrendBars {
  const before = hourly.slice(0, -24).reduce((n, c) => n + c, 0);
  const day = hourly.slice(-24);
  const total = day.reduce((n, c) => n + c, 0);
  const comparison =
    before === total ? (total === 0 ? 'none the day before either' : 'as many as the day before') : total > before ? `rising (${before} the day before)` : `falling (${before} the day before)`;
  return { bars: barsOf(day, 24), sparkline: sparklineOf(day), words: `${total} in the last 24 hours, ${comparison}` };
}

export interface WeekBars {
  /** One per day, the first first, with its count and its name ("Mon 30"). */
  days: (TrendBar & { count: number; label: string })[];
  /** "Mon 30 ▂ 2, Tue 1 · 0, …" for the text part. */
  text: string;
}

/** A week's errors reported per day as bars, each named by its day in `timeZone`. */
export function weekBars(days: { at: Date; reported: number }[], timeZone: string): WeekBars {
  const counts = days.map((d) => d.reported);
  const bars = barsOf(counts, 48);
  const spark = sparklineOf(counts);
  const named = days.map((d, i) => ({ ...bars[i]!, count: d.reported, label: DateTime.fromJSDate(d.at, { zone: timeZone }).toFormat('ccc d') }));
  return { days: named, text: named.map((d, i) => `${d.label} ${spark[i]} ${d.count}`).join(', ') };
}
