import { afterAll } from 'vitest';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { hashOf, keepArtifact, keptArtifactPath, projectRoot } from './kept-artifacts.js';
import { workflowBundleOptions } from '../../worker/worker.js';
import { tracingEnabled } from '../../observability/tracing.js';
import type { HeraldClient } from '../../client/index.js';
import { quietLogger } from './quiet-logger.js';
import { runHerald } from '../../worker/run-herald.js';
import { loadConfig } from '../../config/config.js';
import { createTemporalClient } from '../../client/payload-codec.js';

let bundle: Promise<WorkflowBundle> | undefined;

/** A workflow bundle's code (what `bundleWorkflowCode` makes, and a worker takes). */
export interface WorkflowBundle {
  code: string;
}

/** The HERALD_SECRET of test workers: unsubscribe links in test emails are signed with it. */
export const testSecret = 'the-herald-test-secret-of-32-characters';

/**
 * Herald's workflows, bundled; with the trace interceptors when the file traces (startTracing
 * first), as a worker that traces loads them. Bundling takes seconds of CPU, so a bundle is kept in
 * test-artifacts/ under a hash of everything it is made of (how it is bundled, the workflow
 * sources, the contracts they import, the installed packages): each test file, and the next run, reads it instead.
 */
export function heraldWorkflowBundle(): Promise<WorkflowBundle> {
  bundle ??= cachedBundle(tracingEnabled());
  return bundle;
}

async function cachedBundle(traced: boolean): Promise<WorkflowBundle> {
  const hash = hashOf(['workflows', 'contracts'], [JSON.stringify(workflowBundleOptions({ traced })), readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')]);
  const file = keptArtifactPath('workflow-bundles', `${hash}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  const { code } = await bundleWorkflowCode({ ...workflowBundleOptions({ traced }), logger: quietLogger });
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, code);
  keepArtifact(partial, file);
  return { code };
}

export interface RunningHerald {
  taskQueue: string;
  /** A Herald client on a plain Temporal client: awaiting it does not skip time. */
  client: HeraldClient;
  /** The plain Temporal client behind it. */
  temporal: Client;
  /** The worker itself (its compiled options). */
  worker: Worker;
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
  /** Rows of each kind a retention round deletes; default 5,000. */
  purgeBatchSize?: number;
  /** HERALD_DELIVERY_RETRY_LIMIT; default 24 hours. */
  deliveryRetryLimitMs?: number;
  taskQueue?: string;
  /** HERALD_APP_URL: where the links of emails point; default https://app.herald.test. */
  appUrl?: string;
  /** HERALD_DIGEST_INTERVAL; default 15 minutes. */
  digestInterval?: string;
  /** HERALD_CACHED_WORKFLOWS; default the SDK's. */
  cachedWorkflows?: number;
  /** HERALD_CHANNEL_ALLOW: private addresses channels may post to (S43 tests: 127.0.0.1). */
  channelAllow?: string;
  /** How long a channel has to answer (default 10 s). */
  channelTimeoutMs?: number;
  /** Start each environment's missing digest, as a worker of `npm start` does; default false (tests start the digests they need). */
  ensureDigests?: boolean;
}): Promise<RunningHerald> {
  const taskQueue = options.taskQueue ?? `herald-${randomBytes(4).toString('hex')}`;
  const temporal = createTemporalClient(options.env.connection, options.env.namespace ?? 'default');
  const config = loadConfig({
    HERALD_TASK_QUEUE: taskQueue,
    SMTP_URL: options.smtpUrl ?? 'smtp://127.0.0.1:9',
    HERALD_FROM: 'Herald <herald@herald.test>',
    HERALD_APP_URL: options.appUrl ?? 'https://app.herald.test',
    HERALD_SECRET: testSecret,
    HERALD_RETRY_WINDOW: `${options.retryWindowMs ?? 5 * 60_000}`,
    HERALD_CONNECTION_GRACE: `${options.connectionGraceMs ?? 60_000}`,
    HERALD_DELIVERY_RETRY_LIMIT: `${options.deliveryRetryLimitMs ?? 24 * 60 * 60_000}`,
    ...(options.digestInterval && { HERALD_DIGEST_INTERVAL: options.digestInterval }),
    ...(options.cachedWorkflows !== undefined && { HERALD_CACHED_WORKFLOWS: String(options.cachedWorkflows) }),
    ...(options.channelAllow && { HERALD_CHANNEL_ALLOW: options.channelAllow }),
  });
  const herald = await runHerald({
    config,
    connection: options.env.nativeConnection,
    client: temporal,
    db: options.db,
    migrate: false,
    // Tests start the digests they need, with the inputs they test, unless they test the start itself.
    ensureDigests: options.ensureDigests ?? false,
    workflowBundle: await heraldWorkflowBundle(),
    shutdownGraceTime: '1 second',
    activityOverrides: { digestPageSize: options.digestPageSize, purgeBatchSize: options.purgeBatchSize, channelTimeoutMs: options.channelTimeoutMs },
  });
  afterAll(herald.stop);
  return { taskQueue, client: herald.herald, temporal, worker: herald.worker, stop: herald.stop };
}
