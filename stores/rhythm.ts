/**
 * When a person's digest is due (S41): at a cycle's time, from their rhythm and the time of the
 * last cycle at which it was due. Local times come from luxon over the IANA data, so a day of 23
 * or 25 hours (a daylight-saving change) neither skips nor doubles a daily digest.
 */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { Rhythm } from '../contracts/rhythm.js';

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** Whether `at` falls in the rhythm's quiet hours, by the wall clock of its time zone. */
export function inQuietHours(rhythm: Rhythm, at: Date): boolean {
  if (!rhythm.quietHours) return false;
  const local = DateTime.fromJSDate(at, { zone: rhythm.timeZone });
  const now = local.hour * 60 + local.minute;
  const [from, to] = [minutesOf(rhythm.quietHours.from), minutesOf(rhythm.quietHours.to)];
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/**
 * When the quiet hours `at` falls in end (S49): the next time after `at` that the wall clock of
 * the rhythm's zone reads their end, or reads past it: an end the clocks skip (02:01 on a
 * spring-forward day) comes when they jump past it (03:00), as {@link inQuietHours} reads the
 * clock. None when `at` is outside them.
 */
export function quietHoursEnd(rhythm: Rhythm, at: Date): Date | null {
  if (!rhythm.quietHours || !inQuietHours(rhythm, at)) return null;
  const local = DateTime.fromJSDate(at, { zone: rhythm.timeZone });
  const today = firstPassingMs(local, rhythm.quietHours.to);
  let end = today > at.getTime() ? today : firstPassingMs(local.plus({ days: 1 }), rhythm.quietHours.to);
  // In a skipped hour the first passing is as far past the jump as the end is past the skipped hour's start.
  while (end - minuteMs > at.getTime() && !inQuietHours(rhythm, new Date(end - minuteMs))) end -= minuteMs;
  return new Date(end);
}

const minuteMs = 60_000;

/**
 * The last time at or before `at` that a daily digest at `clock` was due: that wall-clock time
 * today, or yesterday if it is still to come. A time the clocks skip (02:30 on a spring-forward
 * day) comes as long after the change as it is after the skipped hour's start (03:30); a time
 * they pass twice is its first passing.
 */
export function lastDailyTime(clock: string, zone: string, at: Date): Date {
  const local = DateTime.fromJSDate(at, { zone });
  const today = firstPassingMs(local, clock);
  return new Date(today <= at.getTime() ? today : firstPassingMs(local.minus({ days: 1 }), clock));
}

/**
 * The last time at or before `at` that something weekly on ISO weekday `weekday` (1 Monday … 7
 * Sunday) at `clock` was due, in `zone`; skipped and doubled clock times as {@link lastDailyTime}.
 */
export function lastWeeklyTime(weekday: number, clock: string, zone: string, at: Date): Date {
  const local = DateTime.fromJSDate(at, { zone });
  for (let back = 0; ; back += 1) {
    const day = local.minus({ days: back });
    if (day.weekday !== weekday) continue;
    const time = firstPassingMs(day, clock);
    if (time <= at.getTime()) return new Date(time);
  }
}

/** The first time after `at` that something weekly on ISO weekday `weekday` at `clock` is due, in `zone`. */
export function nextWeeklyTime(weekday: number, clock: string, zone: string, at: Date): Date {
  const local = DateTime.fromJSDate(at, { zone });
  for (let ahead = 0; ; ahead += 1) {
    const day = local.plus({ days: ahead });
    if (day.weekday !== weekday) continue;
    const time = firstPassingMs(day, clock);
    if (time > at.getTime()) return new Date(time);
  }
}

/**
 * The first instant the wall clock of `day`'s zone reads `clock` on `day`'s date. Which of two
 * passings luxon picks for an ambiguous time differs by zone, so both are tried: the wall time
 * taken at the zone's offset before and after it, keeping those that read back as that time.
 */
function firstPassingMs(day: DateTime, clock: string): number {
  // Asked for every person of a rhythm at every cycle: the same few days and clocks, over and over.
  const key = `${day.zoneName}|${day.year}-${day.month}-${day.day}|${clock}`;
  const known = knownPassings.get(key);
  if (known !== undefined) return known;
  const found = firstPassing(day, clock).toMillis();
  if (knownPassings.size >= maxKnownPassings) knownPassings.clear();
  knownPassings.set(key, found);
  return found;
}

/** First passings already worked out, by zone, date and clock (a few per person and day; bounded). */
const knownPassings = new Map<string, number>();
const maxKnownPassings = 50_000;

/** {@link firstPassingMs}, worked out with luxon. */
function firstPassing(day: DateTime, clock: string): DateTime {
  const wall = { year: day.year, month: day.month, day: day.day, hour: Number(clock.slice(0, 2)), minute: Number(clock.slice(3, 5)) };
  const zone = day.zone;
  // In a gap luxon moves the time on by the gap's length; otherwise this is one of the passings.
  const luxons = DateTime.fromObject(wall, { zone });
  const asUtc = DateTime.fromObject(wall, { zone: 'UTC' }).toMillis();
  const passings = [luxons.minus({ hours: 3 }).offset, luxons.plus({ hours: 3 }).offset]
    .map((offsetMinutes) => DateTime.fromMillis(asUtc - offsetMinutes * 60_000, { zone }))
    .filter((t) => t.year === wall.year && t.month === wall.month && t.day === wall.day && t.hour === wall.hour && t.minute === wall.minute);
  return passings.length > 0 ? DateTime.min(...passings)! : luxons;
}

/**
 * Whether the person's digest is due at a cycle at `at`, their last due cycle having been at
 * `lastDueAt`: never in quiet hours; every cycle; hourly, at the first cycle of each hour of
 * their clock; daily, at the first cycle at or after their time. What quiet hours held back goes
 * out at the first cycle after them.
 */
export function digestDue(rhythm: Rhythm, lastDueAt: Date, at: Date): boolean {
  if (inQuietHours(rhythm, at)) return false;
  switch (rhythm.every) {
    case 'cycle':
      return true;
    case 'hour':
      return DateTime.fromJSDate(at, { zone: rhythm.timeZone }).startOf('hour').toJSDate() > lastDueAt;
    case 'day':
      return lastDailyTime(rhythm.at!, rhythm.timeZone, at) > lastDueAt;
  }
}

/**
 * The first time after `at` at which a digest of this rhythm, last due at `lastDueAt` and not due
 * at `at`, falls due (#40: a quiet digest runs no fix until then, for the news it holds): the end
 * of quiet hours for a rhythm they hold back; the next hour's start; the next passing of the
 * daily time.
 */
export function nextDueAt(rhythm: Rhythm, lastDueAt: Date, at: Date): Date {
  const heldByQuietHours = quietHoursEnd(rhythm, at);
  if (heldByQuietHours && digestDue({ ...rhythm, quietHours: null }, lastDueAt, at)) return heldByQuietHours;
  let next: Date;
  switch (rhythm.every) {
    case 'cycle':
      next = at;
      break;
    case 'hour':
      next = DateTime.fromJSDate(at, { zone: rhythm.timeZone }).startOf('hour').plus({ hours: 1 }).toJSDate();
      break;
    case 'day': {
      const local = DateTime.fromJSDate(at, { zone: rhythm.timeZone });
      const today = firstPassingMs(local, rhythm.at!);
      next = new Date(today > at.getTime() ? today : firstPassingMs(local.plus({ days: 1 }), rhythm.at!));
    }
  }
  return quietHoursEnd(rhythm, next) ?? next;
}

/** A person's or a channel's rhythm at a cycle's fix: whether it is due there, and when and at which cycle it last was. */
export interface RhythmAtFix {
  rhythm: Rhythm;
  due: boolean;
  lastDueAt: Date;
  lastDueCycleId: number;
}

/**
 * When the digest must fix next for these rhythms (#40): an hourly or daily one at its next due
 * time, news or not (a due time passed unfixed would send later news early); an every-cycle one in
 * quiet hours when these end, if news came since its last digest (`lastNewsCycleId`, the last cycle
 * with news, this one included, asked only then). Null when none needs a fix.
 */
export async function nextFixFor(rhythms: RhythmAtFix[], at: Date, lastNewsCycleId: () => Promise<number>): Promise<Date | null> {
  const times: Date[] = [];
  for (const { rhythm, due, lastDueAt, lastDueCycleId } of rhythms) {
    if (rhythm.every === 'cycle' && (due || lastDueCycleId >= (await lastNewsCycleId()))) continue;
    times.push(nextDueAt(rhythm, due ? at : lastDueAt, at));
  }
  return earliest(times);
}

/** The earliest of these times; null for none. */
export const earliest = (times: Date[]): Date | null => (times.length === 0 ? null : new Date(Math.min(...times.map((t) => t.getTime()))));

/** A `digest_rhythms` row as a rhythm. */
export function rhythmOfRow(row: Record<string, unknown>): Rhythm {
  return {
    every: row.every as Rhythm['every'],
    ...(row.at ? { at: row.at as string } : {}),
    timeZone: row.time_zone as string,
    quietHours: row.quiet_from
      ? { from: row.quiet_from as string, to: row.quiet_to as string, connectionEmails: row.quiet_connection_emails as boolean }
      : null,
  };
}

/** A rhythm as the columns of its `digest_rhythms` row. */
export function rowOfRhythm(rhythm: Rhythm): Record<string, unknown> {
  return {
    every: rhythm.every,
    at: rhythm.at ?? null,
    time_zone: rhythm.timeZone,
    quiet_from: rhythm.quietHours?.from ?? null,
    quiet_to: rhythm.quietHours?.to ?? null,
    quiet_connection_emails: rhythm.quietHours?.connectionEmails ?? true,
  };
}

/**
 * The persons in quiet hours at `at` (S41), as (user, environment) pairs with the time their quiet
 * hours end: of one environment, or (`connectionEmails`) of any, among those who want no
 * connection emails in their quiet hours, or (`users`) these users in one environment.
 */
export async function personsInQuietHours(
  db: Knex,
  at: Date,
  which: { environment: string; users?: number[] } | { connectionEmails: false },
): Promise<{ userId: number; environment: string; until: Date }[]> {
  const query = db('digest_rhythms').whereNotNull('quiet_from');
  if ('environment' in which) {
    query.where({ environment_id: which.environment });
    if (which.users) query.whereIn('user_id', which.users);
  } else query.where({ quiet_connection_emails: false });
  return (await query.select('*')).flatMap((row) => {
    const until = quietHoursEnd(rhythmOfRow(row), at);
    return until ? [{ userId: Number(row.user_id), environment: row.environment_id as string, until }] : [];
  });
}

/**
 * Holds these emails of persons now in their quiet hours until those end (S49): unattempted,
 * due then to the retry round, as deferred emails are.
 */
export async function holdInQuietHours(db: Knex, deliveryIds: number[], persons: { userId: number; environment: string; until: Date }[]): Promise<void> {
  if (deliveryIds.length === 0 || persons.length === 0) return;
  await db.raw(
    `update notifications d
        set held_until = q.until, retry_at = q.until
       from unnest(:users::bigint[], :environments::text[], :untils::timestamptz[]) as q(user_id, environment_id, until)
      where d.id = any(:ids::bigint[]) and d.user_id = q.user_id and d.environment_id = q.environment_id`,
    {
      ids: deliveryIds,
      users: persons.map((p) => p.userId),
      environments: persons.map((p) => p.environment),
      untils: persons.map((p) => p.until.toISOString()),
    },
  );
}
