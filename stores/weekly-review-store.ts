/**
 * The weekly review (S47): once a week, at the day and time a person chose in their digest's time
 * zone (owners and admins on Mondays at 08:00 unless they turn it off), an email of the week
 * before in one environment: errors new and resolved day by day, the flows and groups that rose
 * most, time to resolve against the week before, connections' time offline, and errors open for
 * more than a week. Planned as deliveries of kind `weekly` at the digest workflow's looks, at the
 * first look at or after its time (held by quiet hours until they end): at most one in any six
 * days to a person, so a changed day or time starts the next week.
 */
import type { Knex } from 'knex';
import { addressingOfRow, type EmailAddressing } from './email-addressing.js';
import { DateTime } from 'luxon';
import { defaultWeeklyReview, weekdays, weeklyReviewByDefault, type WeeklyReview } from '../contracts/weekly-review.js';
import { earliest, lastWeeklyTime, nextWeeklyTime, quietHoursEnd, rhythmOfRow } from './rhythm.js';
import { createTrendStore, type ConnectionDowntime, type FlowWeek, type GroupWeek, type ResolveTime, type TrendPoint } from './trend-store.js';

/**
 * A look sees a review turned on or moved within this (a look knows only the times it read), and a
 * review later than this after its time is left for next week's (Herald was down): so a moved
 * review is never lost, only late, at most this, the first time. Daily: a quiet digest's looks
 * cost about one Temporal action in a hundred of its cycles.
 */
const lookWithinMs = 24 * 60 * 60_000;
const dayMs = 24 * 60 * 60_000;
/** How many flows, groups and old errors a review lists. */
export const weeklyListLimit = 5;

/** SQL true when person `user` (an SQL expression) gets weekly reviews of `environment` (one): chosen on, or not chosen and an owner or admin. */
export const weeklyReviewOnSql = (user: string, environment: string) => `exists (
  select 1 from users wu
    left join weekly_reviews wr on wr.user_id = wu.id and wr.environment_id = ${environment}
   where wu.id = ${user} and wu.removed_at is null
     and coalesce(wr.on, wu.role in (${weeklyReviewByDefault.map((role) => `'${role}'`).join(', ')})))`;

/** What one weekly review tells: the 7 days before the day it comes, in the recipient's time zone. */
export interface WeeklyReviewFigures {
  timeZone: string;
  /** The first of its 7 days, and the day after its last. */
  from: Date;
  to: Date;
  /** Its 7 days, the first first. */
  days: TrendPoint[];
  /** Errors reported and resolved in it, and in the week before. */
  reported: number;
  resolved: number;
  reportedWeekBefore: number;
  resolvedWeekBefore: number;
  /** Open (or still in their retry window) at its end. */
  openAtEnd: number;
  /** The flows and groups whose errors rose most from the week before (and rose). */
  risenFlows: FlowWeek[];
  risenGroups: GroupWeek[];
  resolveTime: { thisWeek: ResolveTime | null; lastWeek: ResolveTime | null };
  /** Connections offline at some time in it. */
  downtime: ConnectionDowntime[];
  /** Errors still open that were reported more than a week before it was planned: how many, and the oldest. */
  oldOpen: { count: number; oldest: { id: number; traceKey: string; message: string; flowName: string; reportedAt: Date }[] };
}

export interface WeeklyReviewEmailContext extends EmailAddressing {
  plannedAt: Date;
  /** Whether the person still gets weekly reviews there (S38): one turned off meanwhile is not sent. */
  wanted: boolean;
  figures: WeeklyReviewFigures;
}

/** A person's weekly review in an environment, as they (or the default) chose it, and the time zone it comes in. */
export interface WeeklyReviewSetting {
  review: WeeklyReview;
  timeZone: string;
  /** Chosen by the person on the settings page (or by unsubscribing): the catalog and the API leave it. */
  chosenOnPage: boolean;
}

const isoDay = (day: WeeklyReview['day']) => weekdays.indexOf(day) + 1;

/** A `weekly_reviews` row as a review. */
const reviewOfRow = (row: { on: boolean; day: number; at: string }): WeeklyReview => ({ on: row.on, day: weekdays[row.day - 1]!, at: row.at });

export function createWeeklyReviewStore(db: Knex) {
  const trends = createTrendStore(db);

  /** Everyone of the environment's account who gets its weekly reviews, with their choice, rhythm and last review. */
  async function recipients(environment: string) {
    const { rows } = await db.raw(
      `select u.id, u.email, u.role, u.created_at, w.on, w.day, w.at, w.chosen_at, r.every, r.at as rhythm_at, r.time_zone, r.quiet_from, r.quiet_to, r.quiet_connection_emails,
              (select max(d.planned_at) from notifications d where d.kind = 'weekly' and d.environment_id = :environment and d.user_id = u.id) as last_planned
         from environments env
         join users u on u.account_id = env.account_id and u.removed_at is null
         left join weekly_reviews w on w.user_id = u.id and w.environment_id = env.id
         left join digest_rhythms r on r.user_id = u.id and r.environment_id = env.id
        where env.id = :environment and env.removed_at is null and ${weeklyReviewOnSql('u.id', 'env.id')}`,
      { environment },
    );
    return (rows as Record<string, unknown>[]).map((row) => {
      // Its `at` is the review's: the rhythm's own is read as `rhythm_at`.
      const rhythm = row.time_zone ? rhythmOfRow({ ...row, at: row.rhythm_at }) : null;
      const review = row.on === null ? defaultWeeklyReview(row.role as string) : reviewOfRow(row as { on: boolean; day: number; at: string });
      return {
        userId: Number(row.id),
        email: row.email as string,
        review,
        timeZone: rhythm?.timeZone ?? 'UTC',
        rhythm,
        /** Its time must come after this: the person's choice, or their start in the account. */
        since: ((row.chosen_at ?? row.created_at) as Date).getTime(),
        lastPlanned: (row.last_planned as Date | null)?.getTime() ?? null,
      };
    });
  }

  /** What a review planned at `plannedAt` tells, for a reader in `timeZone`: the 7 days before its day. */
  async function figuresOf(environment: { id: string; accountId: string; resourceGroup: string }, timeZone: string, plannedAt: Date): Promise<WeeklyReviewFigures> {
    const to = DateTime.fromJSDate(plannedAt, { zone: timeZone }).startOf('day');
    const end = to.toJSDate();
    const [{ days }, risenFlows, risenGroups, resolveTime, downtime, oldOpen] = await Promise.all([
      // Its days are the last 14 that end with the day before it comes.
      trends.trends(environment.id, { now: new Date(end.getTime() - 1), timeZone }),
      trends.noisiestFlows(environment.id, end, weeklyListLimit, 'rose'),
      // Groups are counted by UTC day: the seven nearest its days (the last holds its last day's noon).
      trends.noisiestGroups(environment.id, new Date(end.getTime() - 12 * 60 * 60_000), weeklyListLimit, 'rose'),
      trends.resolveTimeWeeks(environment.id, end),
      trends.downtime(environment, end, 7),
      openBefore(environment.id, new Date(plannedAt.getTime() - 7 * dayMs)),
    ]);
    const week = days.slice(-7);
    const before = days.slice(-14, -7);
    const sum = (points: TrendPoint[], field: 'reported' | 'resolved') => points.reduce((n, p) => n + p[field], 0);
    return {
      timeZone,
      from: week[0]!.at,
      to: end,
      days: week,
      reported: sum(week, 'reported'),
      resolved: sum(week, 'resolved'),
      reportedWeekBefore: sum(before, 'reported'),
      resolvedWeekBefore: sum(before, 'resolved'),
      openAtEnd: week.at(-1)!.open,
      risenFlows,
      risenGroups,
      resolveTime,
      downtime: downtime.filter((c) => c.outages > 0 || c.down),
      oldOpen,
    };
  }

  /** Errors of the environment still open that were reported before `before`: how many, and the oldest few. */
  async function openBefore(environment: string, before: Date): Promise<WeeklyReviewFigures['oldOpen']> {
    const old = () => db('errors as e').where({ 'e.environment_id': environment, 'e.status': 'open' }).where('e.reported_at', '<', before);
    const [counted, oldest] = await Promise.all([
      old().first(db.raw('count(*)::int as count')),
      old().join('flows as f', 'f.id', 'e.flow_id').orderBy('e.reported_at').orderBy('e.id').limit(weeklyListLimit).select('e.id', 'e.trace_key', 'e.message', 'f.name as flow_name', 'e.reported_at'),
    ]);
    return {
      count: Number(counted?.count ?? 0),
      oldest: oldest.map((e) => ({ id: Number(e.id), traceKey: e.trace_key, message: e.message, flowName: e.flow_name, reportedAt: e.reported_at })),
    };
  }

  return {
    /** A person's weekly review in an environment (the default for their role unless chosen). */
    async setting(userId: number, environment: string): Promise<WeeklyReviewSetting> {
      const row = await db('users as u')
        .leftJoin('weekly_reviews as w', (on) => on.on('w.user_id', 'u.id').andOnVal('w.environment_id', environment))
        .leftJoin('digest_rhythms as r', (on) => on.on('r.user_id', 'u.id').andOnVal('r.environment_id', environment))
        .where('u.id', userId)
        .first('u.role', 'w.on', 'w.day', 'w.at', 'w.chosen_on_page', 'r.time_zone');
      return {
        review: row?.on === null || row?.on === undefined ? defaultWeeklyReview(row?.role ?? 'monitor') : reviewOfRow(row),
        timeZone: row?.time_zone ?? 'UTC',
        chosenOnPage: row?.chosen_on_page === true,
      };
    },

    /**
     * Plans the environment's weekly reviews due at `now` (the digest workflow's time): one per
     * person whose time has come since their last, within a day of it, and who is not in quiet
     * hours (S41, S49: then at the first look after them). Answers how many were planned and when
     * a look may next find one due.
     */
    async plan(environment: string, now: Date): Promise<{ planned: number; nextLook: Date | null }> {
      const due: { userId: number; email: string }[] = [];
      const looks: Date[] = [];
      for (const person of await recipients(environment)) {
        const { review, timeZone, rhythm } = person;
        const time = lastWeeklyTime(isoDay(review.day), review.at, timeZone, now).getTime();
        const owed = time > person.since && now.getTime() - time < lookWithinMs && (person.lastPlanned === null || person.lastPlanned <= time - 6 * dayMs);
        const quietUntil = owed && rhythm ? quietHoursEnd(rhythm, now) : null;
        if (owed && !quietUntil) due.push(person);
        looks.push(quietUntil ?? nextWeeklyTime(isoDay(review.day), review.at, timeZone, now));
      }
      looks.push(new Date(now.getTime() + lookWithinMs));
      if (due.length === 0) return { planned: 0, nextLook: earliest(looks) };
      const { rows } = await db.raw(
        `insert into notifications (kind, environment_id, user_id, recipient, planned_at)
         select 'weekly', :environment, p.user_id, p.email, :now::timestamptz
           from unnest(:users::bigint[], :emails::text[]) as p(user_id, email)
         on conflict (environment_id, user_id, planned_at) where kind = 'weekly' do nothing
         returning id`,
        { environment, now: now.toISOString(), users: due.map((p) => p.userId), emails: due.map((p) => p.email) },
      );
      return { planned: rows.length, nextLook: earliest(looks) };
    },

    /** The environment's pending reviews (not deferred), or these deliveries (`anyStatus`: whatever became of them, to show one again). */
    async pendingEmails(which: { environment: string } | { deliveryIds: number[]; anyStatus?: boolean }): Promise<WeeklyReviewEmailContext[]> {
      const query = db('notifications as d')
        .join('environments as env', 'env.id', 'd.environment_id')
        .join('accounts as acc', 'acc.id', 'env.account_id')
        .leftJoin('digest_rhythms as r', (on) => on.on('r.user_id', 'd.user_id').andOn('r.environment_id', 'd.environment_id'))
        .where({ 'd.kind': 'weekly' })
        .orderBy('d.id')
        .select(
          'd.id', 'd.public_id', 'd.user_id', 'd.recipient', 'd.planned_at', 'env.id as environment_id', 'env.name as environment_name', 'env.production',
          'env.account_id', 'env.resource_group', 'acc.name as account_name', 'r.time_zone', db.raw(`${weeklyReviewOnSql('d.user_id', 'd.environment_id')} as wanted`),
        );
      if ('environment' in which) query.where({ 'd.environment_id': which.environment }).whereNull('d.retry_at');
      else query.whereIn('d.id', which.deliveryIds);
      if (!('deliveryIds' in which && which.anyStatus)) query.where({ 'd.status': 'pending' });
      const rows = await query;
      // Those of one environment, time zone and day read the same figures.
      const figures = new Map<string, Promise<WeeklyReviewFigures>>();
      return Promise.all(
        rows.map(async (row) => {
          const timeZone = (row.time_zone as string | null) ?? 'UTC';
          const to = DateTime.fromJSDate(row.planned_at, { zone: timeZone }).startOf('day');
          const key = `${row.environment_id}|${timeZone}|${to.toISO()}`;
          if (!figures.has(key)) figures.set(key, figuresOf({ id: row.environment_id, accountId: row.account_id, resourceGroup: row.resource_group }, timeZone, row.planned_at));
          return {
            ...addressingOfRow(row),
            plannedAt: row.planned_at,
            wanted: row.wanted as boolean,
            figures: await figures.get(key)!,
          };
        }),
      );
    },
  };
}

export type WeeklyReviewStore = ReturnType<typeof createWeeklyReviewStore>;

/**
 * Sets a person's weekly review in an environment (`null`: back to their role's default); answers
 * whether it changed. `onPage`: chosen by the person, so the catalog and the API leave it.
 */
export async function saveWeeklyReviewIn(trx: Knex.Transaction, userId: number, environment: string, review: WeeklyReview | null, onPage: boolean): Promise<boolean> {
  const key = { user_id: userId, environment_id: environment };
  const before = await trx('weekly_reviews').where(key).first();
  if (review === null) return (await trx('weekly_reviews').where(key).delete()) > 0;
  const stored = { on: review.on, day: isoDay(review.day), at: review.at };
  const changed = !before || Object.entries(stored).some(([column, value]) => before[column] !== value);
  // The time it was chosen moves only with a change: a review put again as it was comes at its time.
  if (changed) {
    await trx('weekly_reviews')
      .insert({ ...key, ...stored, chosen_at: trx.fn.now(), chosen_on_page: onPage })
      .onConflict(['environment_id', 'user_id'])
      .merge();
  } else if (onPage && !before.chosen_on_page) await trx('weekly_reviews').where(key).update({ chosen_on_page: true });
  return changed;
}
