/**
 * Trends (S47): what an environment's errors did over time, read from `error_trends` (errors
 * reported and resolved per flow per hour, and how long the resolved ones had been open) and
 * `error_open_counts`, kept by the database as errors are stored and resolved (migration
 * 20261218000000), not from the errors. How many were open at the end of an hour is counted back
 * from how many are open now. Hours and days are the viewer's, in their time zone:
 * a day of 23 or 25 hours (a change of the clocks) is that many hours.
 */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { groupLabel } from './fingerprint.js';

/** One bar of a chart: errors reported and resolved in it, and open at its end. */
export interface TrendPoint {
  /** Its start. */
  at: Date;
  reported: number;
  resolved: number;
  open: number;
}

export interface FlowWeek {
  flowId: string;
  flowName: string;
  thisWeek: number;
  lastWeek: number;
}

export interface GroupWeek {
  flowId: string;
  flowName: string;
  /** Its key (S42), as the errors page filters by it. */
  groupKey: string;
  /** Its message's pattern, as digests and pages name the group. */
  label: string;
  /** Its latest message: a real one beside the pattern (S48). */
  example: string;
  thisWeek: number;
  lastWeek: number;
}

export interface FlowResolveTime extends ResolveTime {
  flowId: string;
  flowName: string;
}

/** How long resolved errors had been open, in the buckets `error_trends` counts them in (migration 20261218000000). */
export const resolveBuckets = [
  { column: 'within_5m', words: 'within 5 minutes' },
  { column: 'within_15m', words: 'within 15 minutes' },
  { column: 'within_1h', words: 'within an hour' },
  { column: 'within_4h', words: 'within 4 hours' },
  { column: 'within_1d', words: 'within a day' },
  { column: 'within_3d', words: 'within 3 days' },
  { column: 'within_7d', words: 'within a week' },
  { column: 'later', words: 'after more than a week' },
] as const;

/** How long resolved errors had been open: how many, and the buckets by which half and 9 in 10 were resolved. */
export interface ResolveTime {
  resolved: number;
  /** By when half of them were resolved, in words ("within an hour"). */
  median: string;
  /** By when 9 in 10 were. */
  p90: string;
}

/** Resolved errors counted by {@link resolveBuckets}, as a {@link ResolveTime}; null for none. */
function resolveTimeOf(counts: number[]): ResolveTime | null {
  const resolved = counts.reduce((n, c) => n + c, 0);
  if (resolved === 0) return null;
  /** The first bucket by which at least `share` of them were resolved. */
  const within = (share: number) => {
    let sum = 0;
    return resolveBuckets[counts.findIndex((c) => (sum += c) >= share * resolved)]!.words;
  };
  return { resolved, median: within(0.5), p90: within(0.9) };
}

/** Week on week: the most errors this week, or the most risen since last week (and risen). */
export type WeekOrder = 'most' | 'rose';

/**
 * Adds to a grouped query its rows' `count` summed this week (`at` from `weekStart` on) and the week
 * before (`this_week`, `last_week`), and orders them: the most this week first, or (`rose`) those
 * that rose, the most risen first; `tieBreak` orders the rest alike.
 */
function weekOnWeek(db: Knex, query: Knex.QueryBuilder, sums: { at: string; count: string; weekStart: Date | string }, order: WeekOrder, tieBreak: string): void {
  const thisWeek = `coalesce(sum(${sums.count}) filter (where ${sums.at} >= ?), 0)`;
  const lastWeek = `coalesce(sum(${sums.count}) filter (where ${sums.at} < ?), 0)`;
  const both = [sums.weekStart, sums.weekStart];
  query.select(db.raw(`${thisWeek}::int as this_week`, [sums.weekStart]), db.raw(`${lastWeek}::int as last_week`, [sums.weekStart]));
  // An expression here, not output column numbers: "3 - 4" would be a constant, not this week less the last.
  if (order === 'rose') query.havingRaw(`${thisWeek} > ${lastWeek}`, both).orderByRaw(`${thisWeek} - ${lastWeek} desc`, both);
  query.orderByRaw(`this_week desc, last_week desc, ${tieBreak}`);
}

export interface ConnectionDowntime {
  connectionId: string;
  connectionName: string;
  outages: number;
  downSeconds: number;
  /** Offline now. */
  down: boolean;
}

export interface EnvironmentTrends {
  timeZone: string;
  /** The last 48 hours, by hour, the current hour last. */
  hours: TrendPoint[];
  /** The last 30 days, by day, today last. */
  days: TrendPoint[];
  /** Errors open now, out of their retry window (as the errors list's "open"). */
  openNow: number;
  /** Errors still in their retry window: the bars' "open" counts them with the open. */
  retryingNow: number;
}

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

export function createTrendStore(db: Knex) {
  return {
    /** The time zone of the person's digest in the environment (S41), if they chose one. */
    async viewerZone(userId: number, environment: string): Promise<string | undefined> {
      const row = await db('digest_rhythms').where({ user_id: userId, environment_id: environment }).first('time_zone');
      return row?.time_zone as string | undefined;
    },

    /** The environment's errors (or one flow's) by hour for 48 hours and by day for 30 days, in `timeZone`. */
    async trends(environment: string, options: { now: Date; timeZone: string; flow?: string }): Promise<EnvironmentTrends> {
      const { now, timeZone, flow } = options;
      const zoned = DateTime.fromJSDate(now, { zone: timeZone });
      const firstDay = zoned.startOf('day').minus({ days: 29 });
      const firstHour = zoned.startOf('hour').minus({ hours: 47 });
      const since = new Date(Math.min(firstDay.toMillis(), firstHour.toMillis()));
      // One snapshot: the open count and the hours agree, whatever is reported or resolved meanwhile.
      const { openNow, retryingNow, rows } = await db.transaction(
        async (trx) => {
          const open = trx('error_open_counts').where({ environment_id: environment });
          const hours = trx('error_trends').where({ environment_id: environment }).where('hour', '>=', since);
          if (flow) {
            open.where({ flow_id: flow });
            hours.where({ flow_id: flow });
          }
          const counted = await open.first(trx.raw('coalesce(sum(open), 0)::int as open'), trx.raw('coalesce(sum(retrying), 0)::int as retrying'));
          const rows = await hours.groupBy('hour').orderBy('hour').select('hour', trx.raw('sum(reported)::int as reported'), trx.raw('sum(resolved)::int as resolved'));
          return { openNow: Number(counted?.open ?? 0), retryingNow: Number(counted?.retrying ?? 0), rows: rows as { hour: Date; reported: number; resolved: number }[] };
        },
        { isolationLevel: 'repeatable read', readOnly: true },
      );
      /** Bars from `starts` (each to the next, the last to its own end): what fell in each, and how many were open at its end. */
      const bars = (starts: DateTime[], end: DateTime): TrendPoint[] => {
        const edges = [...starts.map((s) => s.toMillis()), end.toMillis()];
        const points = starts.map((start) => ({ at: start.toJSDate(), reported: 0, resolved: 0, open: 0 }));
        let after = 0; // reported less resolved after the bar being counted (the future included: a clock ahead of this one)
        for (const row of rows) {
          const t = row.hour.getTime();
          const index = edges.findIndex((edge, i) => i < points.length && t >= edge && t < edges[i + 1]!);
          if (index >= 0) {
            points[index]!.reported += row.reported;
            points[index]!.resolved += row.resolved;
          } else if (t >= end.toMillis()) after += row.reported - row.resolved;
        }
        for (let i = points.length - 1; i >= 0; i -= 1) {
          points[i]!.open = openNow - after;
          after += points[i]!.reported - points[i]!.resolved;
        }
        return points;
      };
      const hourStarts = Array.from({ length: 48 }, (_, i) => firstHour.plus({ hours: i }));
      const dayStarts = Array.from({ length: 30 }, (_, i) => firstDay.plus({ days: i }));
      return {
        timeZone,
        hours: bars(hourStarts, zoned.startOf('hour').plus({ hours: 1 })),
        days: bars(dayStarts, zoned.startOf('day').plus({ days: 1 })),
        openNow: openNow - retryingNow,
        retryingNow,
      };
    },

    /**
     * The flows that reported most in the 7 days before `now`, against the 7 before (at most
     * `limit`); or (`rose`) those whose errors rose most from one week to the next, and rose.
     */
    async noisiestFlows(environment: string, now: Date, limit = 10, order: WeekOrder = 'most'): Promise<FlowWeek[]> {
      const weekAgo = new Date(now.getTime() - 7 * dayMs);
      const twoWeeksAgo = new Date(now.getTime() - 14 * dayMs);
      const query = db('error_trends as t')
        .join('flows as f', 'f.id', 't.flow_id')
        .where('t.environment_id', environment)
        .where('t.hour', '>=', twoWeeksAgo)
        .where('t.hour', '<', now)
        .groupBy('t.flow_id', 'f.name')
        .select('t.flow_id', 'f.name')
        .limit(limit);
      weekOnWeek(db, query, { at: 't.hour', count: 't.reported', weekStart: weekAgo }, order, 'f.name');
      const rows = await query;
      return rows.filter((r) => r.this_week + r.last_week > 0).map((r) => ({ flowId: r.flow_id, flowName: r.name, thisWeek: r.this_week, lastWeek: r.last_week }));
    },

    /**
     * The groups of alike errors (S42) that reported most in the 7 days (UTC's) to `now`'s, against
     * the 7 before (at most `limit`); or (`rose`) those that rose most, and rose.
     */
    async noisiestGroups(environment: string, now: Date, limit = 10, order: WeekOrder = 'most'): Promise<GroupWeek[]> {
      const today = DateTime.fromJSDate(now, { zone: 'utc' }).startOf('day');
      const weekStart = today.minus({ days: 6 }).toISODate()!;
      const query = db('error_group_trends as g')
        .join('flows as f', 'f.id', 'g.flow_id')
        .where('g.environment_id', environment)
        .where('g.day', '>=', today.minus({ days: 13 }).toISODate()!)
        .where('g.day', '<=', today.toISODate()!)
        .groupBy('g.flow_id', 'f.name', 'g.group_key')
        .select('g.flow_id', 'f.name', 'g.group_key', db.raw('(array_agg(g.message order by g.day desc))[1] as message'))
        .limit(limit);
      weekOnWeek(db, query, { at: 'g.day', count: 'g.reported', weekStart }, order, 'f.name, g.group_key');
      const rows = await query;
      return rows
        .filter((r) => r.this_week + r.last_week > 0)
        .map((r) => ({ flowId: r.flow_id, flowName: r.name, groupKey: r.group_key, label: groupLabel(r.message, r.group_key), example: r.message as string, thisWeek: r.this_week, lastWeek: r.last_week }));
    },

    /**
     * How long errors resolved in the last 30 days had been open, per flow: the bucket of the median
     * and of the 90th percentile ({@link resolveBuckets}). Errors that recovered in their retry
     * window were never anyone's to resolve, and are left out.
     */
    async resolveTimes(environment: string, now: Date): Promise<FlowResolveTime[]> {
      const rows = await db('error_trends as t')
        .join('flows as f', 'f.id', 't.flow_id')
        .where('t.environment_id', environment)
        .where('t.hour', '>=', new Date(now.getTime() - 30 * dayMs))
        .groupBy('t.flow_id', 'f.name')
        .orderBy('f.name')
        .select('t.flow_id', 'f.name', ...resolveBuckets.map((b) => db.raw(`sum(t.${b.column})::int as ${b.column}`)));
      return rows.flatMap((r) => {
        const summary = resolveTimeOf(resolveBuckets.map((b) => Number(r[b.column])));
        return summary ? [{ flowId: r.flow_id, flowName: r.name, ...summary }] : [];
      });
    },

    /** How long errors resolved in the 7 days before `end` had been open (all flows), and in the 7 before; null for a week with none. */
    async resolveTimeWeeks(environment: string, end: Date): Promise<{ thisWeek: ResolveTime | null; lastWeek: ResolveTime | null }> {
      const weekAgo = new Date(end.getTime() - 7 * dayMs);
      const rows = await db('error_trends')
        .where('environment_id', environment)
        .where('hour', '>=', new Date(end.getTime() - 14 * dayMs))
        .where('hour', '<', end)
        .groupByRaw('1')
        .select(db.raw('hour >= ? as this_week', [weekAgo]), ...resolveBuckets.map((b) => db.raw(`sum(${b.column})::int as ${b.column}`)));
      const of = (thisWeek: boolean) => {
        const row = rows.find((r) => r.this_week === thisWeek);
        return row ? resolveTimeOf(resolveBuckets.map((b) => Number(row[b.column]))) : null;
      };
      return { thisWeek: of(true), lastWeek: of(false) };
    },

    /** The environment's connections' time offline in the `days` days to `now` (an outage begun before counts from then). */
    async downtime(environment: { accountId: string; resourceGroup: string }, now: Date, days = 30): Promise<ConnectionDowntime[]> {
      const since = new Date(now.getTime() - days * dayMs);
      const rows = await db.raw(
        `select c.id, c.name, ev.status, ev.changed_at
           from connections c
           join lateral (
             (select status, changed_at, sequence from connection_events where connection_id = c.id and changed_at < :since order by sequence desc limit 1)
             union all
             (select status, changed_at, sequence from connection_events where connection_id = c.id and changed_at >= :since)
           ) ev on true
          where c.account_id = :account and c.resource_group = :group
          order by c.name, c.id, ev.sequence`,
        { since, account: environment.accountId, group: environment.resourceGroup },
      );
      const byConnection = new Map<string, ConnectionDowntime & { offlineSince: number | null }>();
      for (const row of rows.rows as { id: string; name: string; status: string; changed_at: Date }[]) {
        let c = byConnection.get(row.id);
        if (!c) byConnection.set(row.id, (c = { connectionId: row.id, connectionName: row.name, outages: 0, downSeconds: 0, down: false, offlineSince: null }));
        const at = Math.max(row.changed_at.getTime(), since.getTime());
        if (row.status === 'offline' && c.offlineSince === null) {
          c.offlineSince = at;
          c.outages += 1;
        } else if (row.status === 'online' && c.offlineSince !== null) {
          c.downSeconds += (Math.min(at, now.getTime()) - c.offlineSince) / 1000;
          c.offlineSince = null;
        }
      }
      return [...byConnection.values()].map(({ offlineSince, ...c }) => ({
        ...c,
        down: offlineSince !== null,
        downSeconds: c.downSeconds + (offlineSince !== null ? Math.max(0, now.getTime() - offlineSince) / 1000 : 0),
      }));
    },
  };
}

export type TrendStore = ReturnType<typeof createTrendStore>;
