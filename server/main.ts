/**
 * The production server (`npm run build`, then `npm run server`): the HTTP API, sign-in and pages,
 * health, readiness and the codec endpoint. Stateless: run as many as needed behind a load balancer.
 * Everything comes from the environment: DATABASE_URL, SMTP_URL (sign-in emails) and HERALD_SECRET
 * (session cookies) are required; Temporal through the SDK's environment configuration;
 * HERALD_LISTEN (default 127.0.0.1:8080), HERALD_APP_URL, HERALD_CODEC_ORIGINS, HERALD_TRUST_PROXY.
 * SIGINT or SIGTERM stops it after the requests in progress.
 */
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config/config.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { temporalTarget } from '../config/temporal-connection.js';
import { runServer } from './run-server.js';
import { heraldLogger } from '../observability/log.js';
import { startTracing } from '../observability/tracing.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = heraldLogger('herald-server', config.logLevel);
  // Before the client and the server exist: their spans go where this says (OTEL_EXPORTER_OTLP_ENDPOINT).
  const tracing = await startTracing('herald-server');
  const target = temporalTarget('127.0.0.1:7233');
  const connection = await Connection.connect(target.connectionOptions);
  const server = await runServer({ config, logger, temporal: createTemporalClient(connection, target.namespace) }).catch(async (error: unknown) => {
    await connection.close();
    throw error;
  });
  logger.info({ pid: process.pid, url: server.url, temporal: `${target.connectionOptions.address}/${target.namespace}` }, `server listening at ${server.url}`);
  const stop = async () => {
    await server.stop();
    await connection.close();
    await tracing.shutdown();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`herald: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
