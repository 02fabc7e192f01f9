/**
 * The overview's charts (S47) as models a template draws in SVG: bars of errors reported and
 * resolved in each hour or day, and below them a line of how many were open at each one's end;
 * every figure also in the chart's table. Drawn on the server, in the page itself: nothing to
 * load, nothing the pages' Content-Security-Policy refuses, readable without script.
 */
import { DateTime } from 'luxon';
import type { TrendPoint } from '../stores/trend-store.js';

export interface TrendChart {
  id: string;
  title: string;
  /** The chart in one sentence, for those who do not see it. */
  summary: string;
  width: number;
  height: number;
  /** Where the bars stand (y of their base) and the open line's band. */
  barsBase: number;
  openTop: number;
  openBase: number;
  bars: { x: number; width: number; reportedY: number; reportedHeight: number; resolvedX: number; resolvedY: number; resolvedHeight: number; title: string }[];
  openLine: string;
  ticks: { x: number; label: string }[];
  maxBar: number;
  maxOpen: number;
  rows: { label: string; reported: number; resolved: number; open: number; href: string }[];
}

const width = 720;
const left = 40;
const right = 8;
const barsTop = 10;
const barsBase = 130;
const openTop = 150;
const openBase = 200;
const height = 222;

/**
 * A chart of `points` (each an hour or a day of `zone`); `link` gives each one's errors list.
 * `tickEvery`: a label under every that many points.
 */
export function trendChart(options: { id: string; title: string; unit: 'hour' | 'day'; points: TrendPoint[]; zone: string; tickEvery: number; link: (point: TrendPoint) => string }): TrendChart {
  const { points, unit, zone } = options;
  const maxBar = Math.max(1, ...points.flatMap((p) => [p.reported, p.resolved]));
  const maxOpen = Math.max(1, ...points.map((p) => p.open));
  const step = (width - left - right) / Math.max(1, points.length);
  const label = (p: TrendPoint, long: boolean) => {
    const at = DateTime.fromJSDate(p.at, { zone });
    return unit === 'hour' ? at.toFormat(long ? 'ccc d LLL, HH:00' : 'HH:00') : at.toFormat(long ? 'ccc d LLL' : 'd LLL');
  };
  const y = (value: number, max: number, top: number, base: number) => base - (value / max) * (base - top);
  const round = (n: number) => Math.round(n * 10) / 10;
  const bars = points.map((p, i) => {
    const x = left + i * step;
    const reportedY = y(p.reported, maxBar, barsTop, barsBase);
    const resolvedY = y(p.resolved, maxBar, barsTop, barsBase);
    return {
      x: round(x + step * 0.1),
      width: round(step * 0.4),
      reportedY: round(reportedY),
      reportedHeight: round(barsBase - reportedY),
      resolvedX: round(x + step * 0.5),
      resolvedY: round(resolvedY),
      resolvedHeight: round(barsBase - resolvedY),
      title: `${label(p, true)}: ${p.reported} new, ${p.resolved} resolved, ${p.open} open at its end`,
    };
  });
  const openLine = points.map((p, i) => `${round(left + (i + 0.5) * step)},${round(y(p.open, maxOpen, openTop, openBase))}`).join(' ');
  const ticks = points.flatMap((p, i) => (i % options.tickEvery === 0 ? [{ x: round(left + i * step), label: label(p, false) }] : []));
  const reported = points.reduce((n, p) => n + p.reported, 0);
  const resolved = points.reduce((n, p) => n + p.resolved, 0);
  const first = points[0];
  const last = points.at(-1);
  const summary =
    first && last
      ? `${reported} new and ${resolved} resolved from ${label(first, true)} to ${label(last, true)}; ${first.open} open at the end of the first ${unit}, ${last.open} at the end of the last; at most ${maxBar} new or resolved in one ${unit}.`
      : 'No errors.';
  return {
    id: options.id,
    title: options.title,
    summary,
    width,
    height,
    barsBase,
    openTop,
    openBase,
    bars,
    openLine,
    ticks,
    maxBar,
    maxOpen,
    rows: points.map((p) => ({ label: label(p, true), reported: p.reported, resolved: p.resolved, open: p.open, href: options.link(p) })),
  };
}
