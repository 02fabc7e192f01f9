/**
 * Herald's configuration, read from environment variables and validated once at start.
 * A bad value stops the process with a {@link ConfigError} that names the variable.
 */
import { parseDuration } from './duration.js';

/** Thrown at start when an environment variable has a value Herald cannot use. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${allowed}`);
  }
}

/** Everything Herald reads from its environment. Durations are in milliseconds. */
export interface HeraldConfig {
  /** Temporal frontend `host:port`; unset means `npm start` runs a local dev server. */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  taskQueue: string;
  /** PostgreSQL connection string; unset means an embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** SMTP server as `smtp://user:pass@host:port` (or `smtps://`); unset means the local mail catcher. */
  smtpUrl: string | undefined;
  /** The From header of every email Herald sends. */
  from: string;
  digestIntervalMs: number;
  retryWindowMs: number;
  connectionGraceMs: number;
  /** Base URL of the integration platform, for links in emails. */
  appUrl: string;
  /** Where embedded services keep their data between starts. */
  dataDir: string;
  /** Apply database migrations when the worker starts. */
  migrateOnStart: boolean;
}

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration; throws {@link ConfigError} on the first bad value. */
export function loadConfig(env: Env = process.env): HeraldConfig {
  return {
    temporalAddress: optional(env, 'TEMPORAL_ADDRESS', hostPort),
    temporalNamespace: optional(env, 'TEMPORAL_NAMESPACE', name) ?? 'default',
    taskQueue: optional(env, 'HERALD_TASK_QUEUE', name) ?? 'herald',
    databaseUrl: optional(env, 'DATABASE_URL', urlWith(['postgres:', 'postgresql:'])),
    smtpUrl: optional(env, 'SMTP_URL', urlWith(['smtp:', 'smtps:'])),
    from: optional(env, 'HERALD_FROM', mailbox) ?? 'Herald <herald@localhost>',
    digestIntervalMs: optional(env, 'HERALD_DIGEST_INTERVAL', duration(1_000)) ?? 15 * 60_000,
    retryWindowMs: optional(env, 'HERALD_RETRY_WINDOW', duration(1_000)) ?? 5 * 60_000,
    connectionGraceMs: optional(env, 'HERALD_CONNECTION_GRACE', duration(0)) ?? 60_000,
    appUrl: optional(env, 'HERALD_APP_URL', urlWith(['http:', 'https:'])) ?? 'http://localhost:8080',
    dataDir: optional(env, 'HERALD_DATA_DIR', (v) => v) ?? '.herald',
    migrateOnStart: optional(env, 'HERALD_MIGRATE', flag) ?? false,
  };
}

type Parser<T> = (value: string) => T | undefined;

function optional<T>(env: Env, variable: string, parse: Parser<T> & { allowed?: string }): T | undefined {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = parse(raw.trim());
  if (value === undefined) throw new ConfigError(variable, raw, parse.allowed ?? 'see the README');
  return value;
}

function describe<T>(allowed: string, parse: Parser<T>): Parser<T> & { allowed: string } {
  return Object.assign(parse, { allowed });
}

const hostPort = describe('expected host:port, e.g. 127.0.0.1:7233', (v) =>
  /^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(v) ? v : undefined,
);

const name = describe('expected letters, digits, ".", "_" or "-" (1 to 200)', (v) =>
  /^[A-Za-z0-9._-]{1,200}$/.test(v) ? v : undefined,
);

const mailbox = describe('expected an address such as "Herald <herald@example.com>"', (v) =>
  /^([^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(v) ? v : undefined,
);

const flag = describe('expected 1, 0, true or false', (v) =>
  ({ '1': true, true: true, '0': false, false: false })[v.toLowerCase()],
);

function urlWith(protocols: string[]) {
  return describe(`expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, (v) => {
    try {
      return protocols.includes(new URL(v).protocol) ? v : undefined;
    } catch {
      return undefined;
    }
  });
}

function duration(minimumMs: number) {
  return describe(`expected a duration such as 90s, 15m or 1h (at least ${minimumMs} ms)`, (v) => {
    const ms = parseDuration(v);
    return ms !== undefined && ms >= minimumMs ? ms : undefined;
  });
}
