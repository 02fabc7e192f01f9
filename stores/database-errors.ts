/**
 * PostgreSQL failures, classified (S35). A data exception (SQLSTATE class 22: a NUL in text, an
 * impossible date) or an integrity violation (class 23) fails the same way on every retry: it
 * is a refusal, not an outage. Everything else (connection refused or lost, admin shutdown,
 * timeouts) is transient and retried.
 */

const known: Record<string, string> = {
  '22001': 'a value is longer than its column allows',
  '22007': 'a date or time is not valid',
  '22008': 'a date or time is out of the range PostgreSQL can store',
  '22021': 'text holds a NUL character or an invalid byte sequence',
  '22P02': 'a value has the wrong form for its type',
  '22P05': 'text holds a character PostgreSQL cannot store (an unsupported Unicode escape)',
  '23503': 'it refers to something that does not exist (or no longer exists)',
  '23505': 'it repeats an entry that must be unique',
  '23514': 'a value is not one of those allowed',
};

/** The SQLSTATE of a PostgreSQL error, if `error` is one. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when PostgreSQL refused the data itself (SQLSTATE class 22 or 23): retrying cannot help. */
export function isDataError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

/** What PostgreSQL refused, in words and without SQL text. */
export function describeDataError(error: unknown): string {
  const state = sqlState(error) ?? '?';
  return `PostgreSQL refused the data: ${known[state] ?? 'a data error'} (SQLSTATE ${state})`;
}
