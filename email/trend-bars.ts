/**
 * A flow's last 24 hours in a digest (S47): one bar per hour of the errors reported in it, drawn
 * with table cells of a height and a colour (no image, no SVG: what Gmail, Outlook and Apple Mail
 * all draw), the same as block characters in the text part, and a word on how the day compares
 * with the day before.
 */

/** The bars' height in pixels at the busiest hour. */
const tallest = 24;
const blocks = '▁▂▃▄▅▆▇█';

export interface FlowTrendBars {
  /** Oldest first; a bar of no error is a 1-pixel line. */
  bars: { height: number; color: string }[];
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
  const most = Math.max(1, ...day);
  const comparison =
    before === total ? (total === 0 ? 'none the day before either' : 'as many as the day before') : total > before ? `rising (${before} the day before)` : `falling (${before} the day before)`;
  return {
    bars: day.map((count) => (count === 0 ? { height: 1, color: '#cbd2d9' } : { height: Math.max(3, Math.round((count / most) * tallest)), color: '#c81e1e' })),
    sparkline: day.map((count) => (count === 0 ? '·' : blocks[Math.min(blocks.length - 1, Math.ceil((count / most) * blocks.length) - 1)])).join(''),
    words: `${total} in the last 24 hours, ${comparison}`,
  };
}
