/**
 * The server's composition root: turns Herald's configuration and a Temporal client into a
 * listening server (the API, sign-in and pages, health, the codec endpoint) and stops it in order.
 * `npm run server` (server/main.ts), `npm start` and the tests all start the server through it,
 * so the API and the pages are always given the same Herald client.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { DestinationStream } from 'pino';
import { ConfigError, type HeraldConfig } from '../config/config.js';
import { connectDatabase } from '../stores/database.js';
import { HeraldClient } from '../client/herald-client.js';
import { createSmtpMailer } from '../email/mailer.js';
import { buildServer } from './app.js';
import { keepDigestsInStep } from '../admin/digests.js';
import { heraldLogger, type Logger } from '../observability/log.js';
import type { PeopleOptions } from './people.js';

export interface RunServerOptions {
  /** The configuration; `databaseUrl` (or `db`), `smtpUrl` and `secret` must be set. */
  config: HeraldConfig;
  /** A Temporal client on Herald's namespace: writes go through Herald's workflows. */
  temporal: Client;
  /** A pool to use instead of one on `config.databaseUrl` (`npm start` shares its own); not closed by `stop()`. */
  db?: Knex;
  /** Where to listen; default `config.listen` (port 0: any free port). */
  listen?: { host: string; port: number };
  /** Origins that may call the codec endpoint; default `config.codecOrigins`. */
  codecOrigins?: string[];
  /** Sign-in requests allowed per address and per client in 15 minutes; default 5 and 20. */
  signInLimits?: PeopleOptions['signInLimits'];
  /** The log; default JSON lines at HERALD_LOG_LEVEL on `logStream`. */
  logger?: Logger;
  /** Where the default log goes; default standard output. */
  logStream?: DestinationStream;
  /** The pages' clock (when an email's action links expire, S45); default the system's. Tests move it. */
  clock?: () => Date;
}

/** A listening Herald server. */
export interface RunningServer {
  app: FastifyInstance;
  /** Where it listens, `http://host:port`. */
  url: string;
  /** Stops after the requests in progress; closes the mailer and (if it opened it) the pool. */
  stop(): Promise<void>;
}

export async function runServer(options: RunServerOptions): Promise<RunningServer> {
  const { config } = options;
  if (!config.databaseUrl && !options.db) throw new ConfigError('DATABASE_URL', '', 'required by the server (postgres://…)');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL', '', 'required by the server, which emails sign-in links (smtp://… or smtps://…)');
  if (!config.secret) throw new ConfigError('HERALD_SECRET', '', 'required by the server, to sign its session cookies (at least 32 characters)');
  const db = options.db ?? connectDatabase(config.databaseUrl!);
  const closeDb = options.db ? async () => {} : () => db.destroy();
  const client = new HeraldClient({ temporal: options.temporal, taskQueue: config.taskQueue });
  const mailer = createSmtpMailer({ smtpUrl: config.smtpUrl, from: config.from });
  const stopParts = async () => {
    mailer.close();
    await closeDb();
  };
  const logger = options.logger ?? heraldLogger('herald-server', config.logLevel, options.logStream);
  let app: FastifyInstance;
  let url: string;
  try {
    app = await buildServer({
      db,
      client,
      apiRequestsPerMinute: config.apiRequestsPerMinute,
      requestDeadlineMs: config.requestDeadlineMs,
      channelPolicy: { allow: config.channelAllow },
      // Temporal unreachable: the environment stands, and the next worker start (or call) starts its digest.
      digestsInStep: () =>
        keepDigestsInStep({ temporal: options.temporal, db, taskQueue: config.taskQueue, intervalMs: config.digestIntervalMs, scope: 'new' }).catch((error: unknown) =>
          logger.warn({ err: error }, 'digests of new or removed environments not started or ended yet: the next worker start does it'),
        ),
      people: { mailer, appUrl: config.appUrl, secret: config.secret, signInLimits: options.signInLimits, clock: options.clock },
      codecOrigins: options.codecOrigins ?? config.codecOrigins,
      trustProxy: config.trustProxy,
      logger,
    });
    url = await app.listen(options.listen ?? config.listen);
  } catch (error) {
    await stopParts();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    app,
    url,
    stop: () =>
      (stopped ??= (async () => {
        await app.close();
        await stopParts();
      })()),
  };
}
