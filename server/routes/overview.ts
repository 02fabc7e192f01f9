/**
 * An environment's overview (S47), the errors page's first tab: how its errors (or one flow's)
 * went by hour for 48 hours and by day for 30 days, the noisiest flows this week against last,
 * how long errors took to resolve, and how long connections were offline — each chart also as a
 * table, each figure linked to the errors it counts. In the viewer's time zone: `?tz=`, else their
 * digest's (S41), else UTC.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DateTime } from 'luxon';
import { createPageStore } from '../../stores/page-store.js';
import { createTrendStore, type TrendPoint } from '../../stores/trend-store.js';
import { check } from '../../contracts/problems.js';
import { blankAsUnset, inEnvironment, page, type PageDeps } from '../page.js';
import { entityId } from '../../contracts/error-report.js';
import { timeZone as timeZoneSchema } from '../../contracts/rhythm.js';
import { trendChart } from '../trend-charts.js';
import { durationWords } from '../../contracts/duration.js';
import { weekChange } from '../../contracts/trend-words.js';

const overviewQuery = z.object({
  flow: z.preprocess(blankAsUnset, entityId.optional()),
  tz: z.preprocess(blankAsUnset, timeZoneSchema.optional()),
});

export function overviewPages(app: FastifyInstance, deps: PageDeps): void {
  const pages = createPageStore(deps.db);
  const trends = createTrendStore(deps.db);
  const clock = deps.clock ?? (() => new Date());

  app.get('/overview', async (request, reply) => {
    const { person, environment } = inEnvironment(request);
    const query = check(overviewQuery, request.query, '(query)');
    const path = request.url.split('?')[0]!;
    if (query.problems) return page(reply, 'refused', { title: 'Not shown', person, environment, problems: query.problems, back: path }, 400);
    const { flow } = query.value;
    const now = clock();
    const timeZone = query.value.tz ?? (await trends.viewerZone(person.id, environment.id)) ?? 'UTC';
    const groups = await pages.flows(environment);
    const flowName = flow ? groups.flatMap((g) => g.flows).find((f) => f.id === flow)?.name : undefined;
    const [series, noisiest, noisiestGroups, resolveTimes, downtime] = await Promise.all([
      trends.trends(environment.id, { now, timeZone, flow }),
      trends.noisiestFlows(environment.id, now),
      trends.noisiestGroups(environment.id, now),
      trends.resolveTimes(environment.id, now),
      trends.downtime({ accountId: person.account, resourceGroup: environment.resourceGroup }, now),
    ]);
    const errorsOf = (params: Record<string, string | undefined>) =>
      `/environments/${encodeURIComponent(environment.id)}/errors?${new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined))}`;
    // The errors list filters by UTC days: a bar links the days its time spans.
    const dayLink = (point: TrendPoint, unit: 'hour' | 'day') => {
      const start = DateTime.fromJSDate(point.at, { zone: 'utc' });
      const end = DateTime.fromJSDate(point.at, { zone: timeZone }).plus(unit === 'hour' ? { hours: 1 } : { days: 1 }).minus({ milliseconds: 1 }).setZone('utc');
      return errorsOf({ flow, since: start.toISODate()!, until: end.toISODate()!, grouped: '0' });
    };
    const maxWeek = Math.max(1, ...noisiest.map((f) => Math.max(f.thisWeek, f.lastWeek)));
    const of = flowName ? ` of ${flowName}` : '';
    return page(reply, 'overview', {
      title: 'Overview',
      wide: true,
      person,
      environment,
      groups,
      flow,
      flowName,
      timeZone,
      openNow: series.openNow,
      openLink: errorsOf({ flow, status: 'open' }),
      retryingNow: series.retryingNow,
      retryingLink: errorsOf({ flow, status: 'retrying' }),
      charts: [
        trendChart({ id: 'hours', title: `Errors${of}, the last 48 hours`, unit: 'hour', points: series.hours, zone: timeZone, tickEvery: 6, link: (p) => dayLink(p, 'hour') }),
        trendChart({ id: 'days', title: `Errors${of}, the last 30 days`, unit: 'day', points: series.days, zone: timeZone, tickEvery: 5, link: (p) => dayLink(p, 'day') }),
      ],
      noisiest: noisiest.map((f) => ({
        ...f,
        change: weekChange(f.thisWeek, f.lastWeek),
        thisWidth: Math.round((f.thisWeek / maxWeek) * 100),
        lastWidth: Math.round((f.lastWeek / maxWeek) * 100),
        href: errorsOf({ flow: f.flowId }),
        overview: `${path}?${new URLSearchParams({ flow: f.flowId, ...(query.value.tz && { tz: query.value.tz }) })}`,
      })),
      noisiestGroups: noisiestGroups.map((g) => ({ ...g, change: weekChange(g.thisWeek, g.lastWeek), href: errorsOf({ flow: g.flowId, group: g.groupKey }) })),
      resolveTimes: resolveTimes.map((r) => ({ ...r, href: errorsOf({ flow: r.flowId, status: 'resolved' }) })),
      downtime: downtime
        .filter((c) => c.outages > 0)
        .map((c) => ({ ...c, offline: durationWords(c.downSeconds), href: `/environments/${encodeURIComponent(environment.id)}/connections/${encodeURIComponent(c.connectionId)}` })),
    });
  });
}
