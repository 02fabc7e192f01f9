import { afterAll } from 'vitest';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { createHeraldWorker, workflowsPath } from '../../worker/worker.js';
import { HeraldClient } from '../../client/index.js';
import { quietLogger } from './quiet-logger.js';
import { createSmtpMailer } from '../../activities/email/mailer.js';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Herald's workflows, bundled once per test file. */
export function heraldWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  return bundle;
}

export interface RunningHerald {
  taskQueue: string;
  /** A Herald client on a plain Temporal client: awaiting it does not skip time. */
  client: HeraldClient;
  /** The plain Temporal client behind it. */
  temporal: Client;
  stop(): Promise<void>;
}

/**
 * Runs a real Herald worker (real workflows, real activities) against the test environment and
 * the test database, on a task queue of its own; stopped when the file ends, or by `stop()`.
 */
export async function startHerald(options: {
  env: TestWorkflowEnvironment;
  db: Knex;
  /** SMTP server the worker sends to; default: one that nothing listens on (tests without email). */
  smtpUrl?: string;
  retryWindowMs?: number;
  connectionGraceMs?: number;
  digestPageSize?: number;
  /** HERALD_DELIVERY_RETRY_LIMIT; default 24 hours. */
  deliveryRetryLimitMs?: number;
  taskQueue?: string;
}): Promise<RunningHerald> {
  const taskQueue = options.taskQueue ?? `herald-${randomBytes(4).toString('hex')}`;
  const mailer = createSmtpMailer({ smtpUrl: options.smtpUrl ?? 'smtp://127.0.0.1:9', from: 'Herald <herald@herald.test>' });
  const worker = await createHeraldWorker({
    connection: options.env.nativeConnection,
    namespace: options.env.namespace ?? 'default',
    taskQueue,
    deps: {
      db: options.db,
      mailer,
      retryWindowMs: options.retryWindowMs ?? 5 * 60_000,
      appUrl: 'https://app.herald.test',
      digestPageSize: options.digestPageSize,
      connectionGraceMs: options.connectionGraceMs ?? 60_000,
      digestIntervalMs: 15 * 60_000,
      deliveryRetryLimitMs: options.deliveryRetryLimitMs ?? 24 * 60 * 60_000,
    },
    workflowBundle: await heraldWorkflowBundle(),
    shutdownGraceTime: '1 second',
  });
  const running = worker.run();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    worker.shutdown();
    await running;
    mailer.close();
  };
  afterAll(stop);
  const temporal = new Client({ connection: options.env.connection, namespace: options.env.namespace ?? 'default' });
  return { taskQueue, client: new HeraldClient({ temporal, taskQueue, db: options.db }), temporal, stop };
}
