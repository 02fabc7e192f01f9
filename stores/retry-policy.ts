/**
 * One retry policy for every notification a receiver refuses for now (S34, S43, S49), email or
 * post: the n-th refusal in a row waits the transport's first wait × 2^(n−1), at most an hour, and
 * never less than the receiver asked for (Retry-After); once the next try would come later than
 * HERALD_DELIVERY_RETRY_LIMIT after the first refusal, the notification fails instead of waiting.
 * The first wait is the transport's own: a mail server that greylists wants a minute, an HTTP
 * receiver that is busy a few seconds.
 */

export const firstRetryWaitMs = { email: 60_000, channel: 10_000 } as const;
export const maxRetryWaitMs = 60 * 60_000;

/**
 * SQL for a refusal's outcome, as SET expressions: `status` (`failed` or `pending`) and
 * `retryAt` (null once failed). Each argument is an SQL expression: the refusals before this one,
 * the transport's first wait in ms, the receiver's Retry-After in ms (null or absent: none), the clock, when the refusals began
 * (null: now) and the limit in ms.
 */
export function refusalOutcomeSql(at: { refusalsBefore: string; first: string; retryAfterMs?: string; now: string; since: string; limitMs: string }) {
  const wait = `greatest(coalesce(${at.retryAfterMs ?? 'null'}, 0), least(${at.first} * power(2, least(${at.refusalsBefore}, 20)), ${maxRetryWaitMs}))`;
  const next = `${at.now}::timestamptz + ${wait} * interval '1 millisecond'`;
  const failing = `${next} - coalesce(${at.since}, ${at.now}::timestamptz) > ${at.limitMs} * interval '1 millisecond'`;
  return { status: `case when ${failing} then 'failed' else 'pending' end`, retryAt: `case when ${failing} then null else ${next} end` };
}
