/** A service that Herald's configuration names, and that does not answer. */

/**
 * Thrown when a service Herald needs does not answer: said in one line that names the address,
 * the variable that sets it, and what to do (by default: start what `npm start` runs).
 */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    service: string,
    address: string,
    variable: string,
    cause?: unknown,
    advice = `start Herald with "npm start", or set ${variable} to where it runs`,
  ) {
    super(`cannot reach ${service} at ${address}: ${advice}`, { cause });
  }
}

/** The host:port of a PostgreSQL connection string (5432 when it names none), to name it in messages. */
export function databaseAddress(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || 5432}`;
}

/** True when `error` (or one it wraps) is a refused or failed TCP connection to `address` (host:port). */
export function refusedConnectionTo(error: unknown, address: string): boolean {
  const port = Number(address.split(':').at(-1));
  const inner = error instanceof AggregateError ? error.errors : [error];
  return inner.some((e) => {
    const failure = e as { code?: string; port?: number } | null;
    return ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(failure?.code ?? '') && (failure?.port === undefined || failure.port === port);
  });
}
