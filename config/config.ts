/**
 * Herald's configuration, read from environment variables and validated once at start.
 * A bad value stops the process with a {@link ConfigError} that names the variable.
 */
import { z } from 'zod';
import { parseDuration } from '../contracts/duration.js';
import { isAllowList } from '../contracts/channel-url.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** A log level as HERALD_LOG_LEVEL gives it, in either case (`warn`, `WARN`). */
const logLevelOf = (value: string): LogLevel | undefined => logLevels.find((level) => level === value.toLowerCase());

/**
 * The level of the Temporal runtime's logger for HERALD_LOG_LEVEL (its levels are TRACE to ERROR);
 * `fallback` when unset or not a level (the configuration names a bad value when it is loaded).
 */
export function runtimeLogLevel(value: string | undefined, fallback: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'): 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' {
  const level = value === undefined ? undefined : logLevelOf(value.trim());
  if (level === undefined) return fallback;
  return level === 'fatal' || level === 'silent' ? 'ERROR' : (level.toUpperCase() as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR');
}

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
  /** How long a recipient the SMTP server refused for now (4xx) is tried again before it is failed. */
  deliveryRetryLimitMs: number;
  /** Base URL of the integration platform, for links in emails. */
  appUrl: string;
  /** Where embedded services keep their data between starts. */
  dataDir: string;
  /** Apply database migrations when the worker starts. */
  migrateOnStart: boolean;
  /** Where Herald's server listens, `host:port`. */
  listen: { host: string; port: number };
  /** Origins of Temporal UIs allowed to call the server's codec endpoint. */
  codecOrigins: string[];
  /** API requests a minute per token, before 429. */
  apiRequestsPerMinute: number;
  /** How long the server works on one request before it answers 503 with Retry-After (database or Temporal slow or down). */
  requestDeadlineMs: number;
  /** Signs the server's session cookies; `npm start` keeps one in its data folder when unset. */
  secret: string | undefined;
  /** The server runs behind a proxy that terminates TLS (X-Forwarded-For and -Proto are trusted). */
  trustProxy: boolean;
  /** How much the server, the worker and the command line log (one JSON line per event). */
  logLevel: LogLevel;
  /** Resolved errors, finished digest cycles and email records older than this are deleted (S39). */
  retentionMs: number;
  /** Workflow runs a worker keeps in memory between their tasks (the SDK's maxCachedWorkflows); unset: the SDK's default, from the heap size. */
  cachedWorkflows?: number;
  /** Where the worker serves its Prometheus metrics (`host:port`, path /metrics); unset: none. */
  metricsListen: string | undefined;
  /**
   * Private addresses and CIDR ranges channels may post to all the same, over HTTP too (local
   * receivers in tests and development; S43); empty: HTTPS to public addresses only.
   */
  channelAllow: string[];
}

type Env = Record<string, string | undefined>;

/** A variable's schema: its value (trimmed), or the words of what is allowed. */
function variable<T>(allowed: string, parse: (value: string) => T | undefined) {
  return z.string().transform((value, ctx) => {
    const parsed = parse(value.trim());
    if (parsed === undefined) ctx.issues.push({ code: 'custom', message: allowed, input: value });
    return parsed as T;
  });
}

const hostPort = variable('expected host:port, e.g. 127.0.0.1:7233', (v) => (/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(v) ? v : undefined));
const name = variable('expected letters, digits, ".", "_" or "-" (1 to 200)', (v) => (/^[A-Za-z0-9._-]{1,200}$/.test(v) ? v : undefined));
const mailbox = variable('expected an address such as "Herald <herald@example.com>"', (v) =>
  /^([^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(v) ? v : undefined,
);
const flag = variable('expected 1, 0, true or false', (v) => ({ '1': true, true: true, '0': false, false: false })[v.toLowerCase()]);
const anyText = variable('expected a folder', (v) => v);

function urlWith(protocols: string[]) {
  return variable(`expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, (v) => {
    try {
      return protocols.includes(new URL(v).protocol) ? v : undefined;
    } catch {
      return undefined;
    }
  });
}

function duration(minimumMs: number) {
  return variable(`expected a duration such as 90s, 15m or 1h (at least ${minimumMs} ms)`, (v) => {
    const ms = parseDuration(v);
    return ms !== undefined && ms >= minimumMs ? ms : undefined;
  });
}

/** Every variable Herald reads, with its schema; unset (or blank) means the default. */
const variables = {
  TEMPORAL_ADDRESS: hostPort,
  TEMPORAL_NAMESPACE: name,
  HERALD_TASK_QUEUE: name,
  DATABASE_URL: urlWith(['postgres:', 'postgresql:']),
  SMTP_URL: urlWith(['smtp:', 'smtps:']),
  HERALD_FROM: mailbox,
  HERALD_DIGEST_INTERVAL: duration(1_000),
  HERALD_RETRY_WINDOW: duration(1_000),
  HERALD_CONNECTION_GRACE: duration(0),
  HERALD_DELIVERY_RETRY_LIMIT: duration(60_000),
  HERALD_APP_URL: urlWith(['http:', 'https:']),
  HERALD_DATA_DIR: anyText,
  HERALD_MIGRATE: flag,
  HERALD_LISTEN: hostPort,
  HERALD_SECRET: variable('expected at least 32 characters (e.g. openssl rand -base64 32)', (v) => (v.length >= 32 ? v : undefined)),
  HERALD_TRUST_PROXY: flag,
  HERALD_LOG_LEVEL: variable(`expected one of ${logLevels.join(', ')}`, (v) => logLevelOf(v)),
  HERALD_METRICS_LISTEN: hostPort,
  HERALD_RETENTION: duration(24 * 60 * 60_000),
  HERALD_CACHED_WORKFLOWS: variable('expected a whole number of workflow runs, 2 or more (0: none cached)', (v) =>
    /^(0|[2-9]|[1-9]\d{1,6})$/.test(v) ? Number(v) : undefined,
  ),
  HERALD_REQUEST_DEADLINE: duration(100),
  HERALD_API_RATE: variable('expected a whole number of requests a minute, 1 or more', (v) => (/^[1-9]\d{0,6}$/.test(v) ? Number(v) : undefined)),
  HERALD_CHANNEL_ALLOW: variable('expected addresses or CIDR ranges separated by commas, e.g. 127.0.0.1,10.0.0.0/8', (v) => {
    const entries = v.split(',').map((entry) => entry.trim());
    return entries.every((entry) => entry !== '') && isAllowList(entries) ? entries : undefined;
  }),
  HERALD_CODEC_ORIGINS: variable('expected origins separated by commas, e.g. https://temporal.example.com', (v) => {
    const origins = v.split(',').map((origin) => origin.trim());
    return origins.every((origin) => /^https?:\/\/[^/\s]+$/.test(origin)) ? origins : undefined;
  }),
};

/** Reads and validates the configuration; throws {@link ConfigError} on the first bad value. */
export function loadConfig(env: Env = process.env): HeraldConfig {
  const given = Object.fromEntries(
    Object.keys(variables)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = z.object(variables).partial().safeParse(given);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0]);
    throw new ConfigError(key, env[key] ?? '', issue.message);
  }
  const v = result.data;
  return {
    temporalAddress: v.TEMPORAL_ADDRESS,
    temporalNamespace: v.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: v.HERALD_TASK_QUEUE ?? 'herald',
    databaseUrl: v.DATABASE_URL,
    smtpUrl: v.SMTP_URL,
    from: v.HERALD_FROM ?? 'Herald <herald@localhost>',
    digestIntervalMs: v.HERALD_DIGEST_INTERVAL ?? 15 * 60_000,
    retryWindowMs: v.HERALD_RETRY_WINDOW ?? 5 * 60_000,
    connectionGraceMs: v.HERALD_CONNECTION_GRACE ?? 60_000,
    deliveryRetryLimitMs: v.HERALD_DELIVERY_RETRY_LIMIT ?? 24 * 60 * 60_000,
    appUrl: v.HERALD_APP_URL ?? 'http://localhost:8080',
    dataDir: v.HERALD_DATA_DIR ?? '.herald',
    migrateOnStart: v.HERALD_MIGRATE ?? false,
    listen: splitHostPort(v.HERALD_LISTEN ?? '127.0.0.1:8080'),
    codecOrigins: v.HERALD_CODEC_ORIGINS ?? [],
    apiRequestsPerMinute: v.HERALD_API_RATE ?? 1200,
    requestDeadlineMs: v.HERALD_REQUEST_DEADLINE ?? 10_000,
    secret: v.HERALD_SECRET,
    trustProxy: v.HERALD_TRUST_PROXY ?? false,
    logLevel: v.HERALD_LOG_LEVEL ?? 'info',
    metricsListen: v.HERALD_METRICS_LISTEN,
    retentionMs: v.HERALD_RETENTION ?? 30 * 24 * 60 * 60_000,
    cachedWorkflows: v.HERALD_CACHED_WORKFLOWS,
    channelAllow: v.HERALD_CHANNEL_ALLOW ?? [],
  };
}

function splitHostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(at + 1)) };
}
