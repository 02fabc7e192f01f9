/**
 * What a digest tells of a range of cycles, as SQL over an error row: new in it, or newly resolved
 * in it. A person's digest (S41) and a channel's (S49) cover the cycles after the one at which
 * their last digest was due, up to this one; without a rhythm, this cycle alone.
 */

/**
 * SQL true for an error `e` a digest of cycle `cycle` (an SQL expression; default the `:cycle`
 * binding) tells as new to a reader whose range began after cycle `since` (an SQL expression;
 * null: this cycle alone). An error carries the cycle that tells it as new and the one that tells
 * its resolution (stamped when stored, #40); resolved by the cycle that would have told it as
 * new, or within a reader's range, it is not told at all: its reader never heard of it (S10, S16).
 * A snoozed error is not told as new while it sleeps; it is when its snooze ends (S46).
 */
export const newInRangeSql = (since: string | null, e = 'e', cycle = ':cycle') =>
  since === null
    ? `${e}.notified_cycle_id = ${cycle}
       and (${e}.resolution_notified_cycle_id is null or ${e}.resolution_notified_cycle_id > ${cycle}) and ${e}.snooze_id is null`
    : `${e}.notified_cycle_id > ${since} and ${e}.notified_cycle_id <= ${cycle}
       and (${e}.resolution_notified_cycle_id is null or ${e}.resolution_notified_cycle_id > ${cycle}) and ${e}.snooze_id is null`;

/** The same for an error `e` a digest of `cycle` tells as newly resolved: one told as new by a cycle before. */
export const resolvedInRangeSql = (since: string | null, e = 'e', cycle = ':cycle') =>
  since === null
    ? `${e}.resolution_notified_cycle_id = ${cycle} and ${e}.notified_cycle_id < ${cycle}`
    : `${e}.resolution_notified_cycle_id > ${since} and ${e}.resolution_notified_cycle_id <= ${cycle}
       and ${e}.notified_cycle_id < ${e}.resolution_notified_cycle_id`;

/** One of the above where the range's start is a nullable column (`since`): this cycle alone where it is null. */
export const inNullableRangeSql = (inRange: typeof newInRangeSql, since: string, e: string, cycle: string) =>
  `(case when ${since} is null then ${inRange(null, e, cycle)} else ${inRange(since, e, cycle)} end)`;
