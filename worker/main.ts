/**
 * The production worker (`npm run build`, then `node dist/worker/main.js`): one of any number
 * of identical processes on one task queue. Everything comes from the environment (see the
 * README): Temporal through the SDK's environment configuration, DATABASE_URL, SMTP_URL and HERALD_SECRET are
 * required, nothing is started on embedded defaults. Workflows come prebuilt from
 * dist/workflow-bundle.js. The worker registers Herald's search attributes where the namespace
 * lacks them. SIGINT or SIGTERM drains the worker, then it exits. The tests that kill workers run
 * this same file from source, with HERALD_WORKFLOW_BUNDLE naming a bundle of their own.
 */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/config.js';
import { heraldLogger } from '../observability/log.js';
import { startTracing } from '../observability/tracing.js';
import { installWorkerRuntime } from './runtime.js';
import { workflowBundleFor } from './worker.js';
import { temporalTarget } from '../config/temporal-connection.js';
import { runHerald } from './run-herald.js';
import { createTemporalClient } from '../client/payload-codec.js';


async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL', '', 'required by the production worker (postgres://…)');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL', '', 'required by the production worker (smtp://… or smtps://…)');
  if (!config.secret) throw new ConfigError('HERALD_SECRET', '', 'required by the production worker: it signs the unsubscribe links of emails (at least 32 characters)');
  const logger = heraldLogger('herald-worker', config.logLevel);
  installWorkerRuntime({ config, logger });
  const tracing = await startTracing('herald-worker');
  // The bundle `npm run build` writes beside the compiled code (traced or not), or another prebuilt one (HERALD_WORKFLOW_BUNDLE).
  const prebuiltWorkflowBundle = process.env.HERALD_WORKFLOW_BUNDLE || workflowBundleFor(fileURLToPath(new URL('..', import.meta.url)), tracing);
  if (!existsSync(prebuiltWorkflowBundle)) {
    throw new Error(`no prebuilt workflow bundle at ${prebuiltWorkflowBundle}: run "npm run build" first`);
  }

  const target = temporalTarget('127.0.0.1:7233');
  // The SDK's configuration: TEMPORAL_NAMESPACE, when set, overrides a profile's namespace.
  const namespace = target.namespace;
  const clientConnection = await Connection.connect(target.connectionOptions);

  const connection = await NativeConnection.connect(target.connectionOptions);
  // Every worker ensures the digests; the workflow ids keep one per environment however many start.
  const herald = await runHerald({
    config,
    connection,
    client: createTemporalClient(clientConnection, namespace),
    workflowBundle: { codePath: prebuiltWorkflowBundle },
    logger,
    tracing,
  });
  logger.info(
    { pid: process.pid, taskQueue: config.taskQueue, temporal: `${target.connectionOptions.address}/${namespace}`, ...(config.metricsListen && { metrics: `http://${config.metricsListen}/metrics` }) },
    'worker running',
  );
  try {
    await herald.running;
  } finally {
    await herald.stop();
    await connection.close();
    await clientConnection.close();
    await tracing.shutdown();
  }
}

main().catch((error: unknown) => {
  console.error(`herald: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
