import type { Duration } from '@temporalio/common';
/**
 * The composition root: turns Herald's configuration and a Temporal connection into a running
 * Herald (database pool, migrations, mailer, worker with its search attributes, the digest
 * workflows) and stops it in order. `npm start`, the production worker, the tests and the bench
 * all start Herald through it.
 */
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundleOption } from '@temporalio/worker';
import type { Knex } from 'knex';
import { ConfigError, type HeraldConfig } from '../config/config.js';
import type { ActivityDeps } from '../activities/index.js';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import type { Mailer } from '../email/mailer.js';
import { createThreadedMailer } from '../email/mailer-threads.js';
import { keepDigestsInStep } from '../admin/digests.js';
import { ensureRetentionSchedule } from '../admin/retention-schedule.js';
import { HeraldClient } from '../client/herald-client.js';
import { createHeraldWorker } from './worker.js';
import { channelAgents } from '../channels/post.js';
import { startWorkerGauges } from './runtime.js';
import { heraldLogger, type Logger } from '../observability/log.js';
import { startTracing, type Tracing } from '../observability/tracing.js';

/** What Herald needs besides its configuration. */
export interface RunHeraldOptions {
  /** The configuration; `databaseUrl` and `smtpUrl` must be set (embedded services are started before this). */
  config: HeraldConfig;
  /** The worker's connection to Temporal. */
  connection: NativeConnection;
  /** A client on the same namespace (for the digest workflows and the Herald client). */
  client: Client;
  /** A pool to use instead of one on `config.databaseUrl` (tests share theirs); not closed by `stop()`. */
  db?: Knex;
  /** Migrations to apply at start; default `config.migrateOnStart`. */
  migrate?: boolean;
  /** Start the digests of environments never made sure of (new ones), at the configured interval, and the retention schedule if missing; default true. */
  ensureDigests?: boolean;
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: Duration;
  maxConcurrentActivityTaskExecutions?: number;
  /** SMTP connections of the mailer's pool; default 5. */
  smtpConnections?: number;
  /** Activity settings that are not configuration (page sizes in tests and the bench). */
  activityOverrides?: Partial<Pick<ActivityDeps, 'digestPageSize' | 'purgeBatchSize' | 'channelTimeoutMs'>>;
  /** The worker's log; default JSON lines on standard output at HERALD_LOG_LEVEL. */
  logger?: Logger;
  /** Where spans go; default the process's tracing (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing?: Tracing;
}

/** A running Herald. */
export interface RunningHerald {
  worker: Worker;
  db: Knex;
  mailer: Mailer;
  /** A Herald client on the worker's task queue. */
  herald: HeraldClient;
  /** Settles when the worker has stopped. */
  running: Promise<void>;
  /** Drains the worker, then closes the mailer and (if it opened it) the database pool. */
  stop(): Promise<void>;
}

export async function runHerald(options: RunHeraldOptions): Promise<RunningHerald> {
  const { config } = options;
  if (!config.databaseUrl && !options.db) throw new Error('runHerald needs config.databaseUrl (or a db)');
  if (!config.smtpUrl) throw new Error('runHerald needs config.smtpUrl');
  const secret = config.secret;
  if (!secret) throw new ConfigError('HERALD_SECRET', '', 'required: it signs the unsubscribe links of emails (at least 32 characters)');
  const db = options.db ?? connectDatabase(config.databaseUrl!);
  const closeDb = options.db ? async () => {} : () => db.destroy();
  const logger = options.logger ?? heraldLogger('herald-worker', config.logLevel);
  let applied: string[] = [];
  if (options.migrate ?? config.migrateOnStart) applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  const mailer = createThreadedMailer({ smtpUrl: config.smtpUrl, from: config.from, maxConnections: options.smtpConnections });
  const herald = new HeraldClient({ temporal: options.client, taskQueue: config.taskQueue });

  const worker = await createHeraldWorker({
    connection: options.connection,
    namespace: options.client.options.namespace,
    taskQueue: config.taskQueue,
    workflowBundle: options.workflowBundle,
    shutdownGraceTime: options.shutdownGraceTime,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    maxCachedWorkflows: config.cachedWorkflows,
    tracing: options.tracing ?? (await startTracing('herald-worker')),
    deps: {
      db,
      mailer,
      retryWindowMs: config.retryWindowMs,
      appUrl: config.appUrl,
      secret,
      connectionGraceMs: config.connectionGraceMs,
      digestIntervalMs: config.digestIntervalMs,
      deliveryRetryLimitMs: config.deliveryRetryLimitMs,
      retentionMs: config.retentionMs,
      channelAgents: channelAgents({ allow: config.channelAllow }),
      tellDigest: (environment) => herald.tellDigest(environment),
      ...options.activityOverrides,
    },
  });
  const running = worker.run();
  const stopGauges = startWorkerGauges(db, config, logger);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopGauges();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      mailer.close();
      await closeDb();
    })());

  try {
    // Digests missing are started, those of removed environments ended; running ones are left as they are (S44).
    if (options.ensureDigests ?? true) {
      await keepDigestsInStep({
        temporal: options.client,
        db,
        taskQueue: config.taskQueue,
        intervalMs: config.digestIntervalMs,
        // Only environments whose digest was never made sure of: a start touches no other (S44, #25).
        scope: 'new',
      });
      if (!(await ensureRetentionSchedule(options.client, config.taskQueue))) {
        logger.warn('this Temporal server has no schedules: retention (HERALD_RETENTION) does not run');
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { worker, db, mailer, herald, running, stop };
}
